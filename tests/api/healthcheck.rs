//! `linkdock healthcheck` (API.md, Command line): exit 0 when the local server's `/healthz`
//! answers ok within 2 s, silently; non-zero with a one-line reason otherwise.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::spawn_app;

/// Run `linkdock healthcheck` with only the given config file and environment.
fn healthcheck(config: Option<&Path>, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linkdock"));
    cmd.arg("healthcheck")
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_LISTEN")
        .env_remove("LINKDOCK_DATA_DIR");
    if let Some(path) = config {
        cmd.arg("--config").arg(path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run linkdock healthcheck")
}

fn assert_silent_success(out: &Output) {
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// A failure: non-zero, nothing on stdout, one line on stderr; returns that line.
fn assert_one_line_failure(out: &Output) -> String {
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[tokio::test]
async fn the_healthcheck_passes_silently_while_the_server_runs() {
    let app = spawn_app().await;
    // The listen address from the config file, as `serve` reads it...
    let config = std::fs::read_to_string(&app.config_path).unwrap();
    let pinned = app.dir.path().join("pinned.toml");
    std::fs::write(
        &pinned,
        config.replace("127.0.0.1:0", &format!("127.0.0.1:{}", app.port)),
    )
    .unwrap();
    assert_silent_success(&healthcheck(Some(&pinned), &[]));
    // ...and through LINKDOCK_CONFIG + LINKDOCK_LISTEN; a wildcard is probed on loopback.
    assert_silent_success(&healthcheck(
        None,
        &[
            ("LINKDOCK_CONFIG", app.config_path.display().to_string()),
            ("LINKDOCK_LISTEN", format!("0.0.0.0:{}", app.port)),
        ],
    ));
}

#[tokio::test]
async fn the_healthcheck_fails_when_nothing_answers() {
    // Nothing listens: refused at once.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = assert_one_line_failure(&healthcheck(None, &[("LINKDOCK_LISTEN", free.to_string())]));
    assert!(err.contains(&format!("http://{free}/healthz")), "{err}");

    // Something accepts connections but never answers: given up (after 2 s), not waited on.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = assert_one_line_failure(&healthcheck(
        None,
        &[("LINKDOCK_LISTEN", silent.local_addr().unwrap().to_string())],
    ));
    assert!(err.contains("no answer within 2s"), "{err}");
    drop(silent);

    // Port 0 (any free port) cannot be probed: say so rather than guess.
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("zero.toml");
    std::fs::write(&zero, "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let err = assert_one_line_failure(&healthcheck(Some(&zero), &[]));
    assert!(err.contains("port 0"), "{err}");
}

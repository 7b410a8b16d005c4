//! A throwaway PostgreSQL cluster for tests: started on first use, one per test process, on a
//! free port with trust authentication and no fsync; every test gets a fresh empty database.
//! The server runs under a small shell that stops it and deletes its folder when the test
//! process's end of a pipe closes, which happens however the process ends.
//!
//! A second cluster, started only by tests that ask for it ([`fresh_tls_database`]), also
//! offers TLS, with a self-signed certificate made at start by the `openssl` command.
//!
//! Without PostgreSQL installed: under `CI` the test fails (CI must never skip); elsewhere
//! [`fresh_database`] says SKIPPED loudly and returns `None`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The user the cluster is made for; every URL connects as it.
pub const USER: &str = "linkdock";

struct Cluster {
    bin: PathBuf,
    port: u16,
    /// Held open for the life of the process: when it closes, the cluster stops.
    _lifeline: ChildStdin,
    _shell: Child,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static TLS_CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A URL to a new, empty database on this process's cluster, or `None` (after a SKIPPED line)
/// when PostgreSQL is not installed outside CI. The cluster offers no TLS.
pub fn fresh_database() -> Option<String> {
    create_on(CLUSTER.get_or_init(|| start(false)).as_ref()?)
}

/// As [`fresh_database`], on a cluster that offers TLS (and takes plain connections too).
pub fn fresh_tls_database() -> Option<String> {
    create_on(TLS_CLUSTER.get_or_init(|| start(true)).as_ref()?)
}

fn create_on(cluster: &Cluster) -> Option<String> {
    let name = format!("t{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let out = Command::new(cluster.bin.join("createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port.to_string(),
            "-U",
            USER,
        ])
        .arg(&name)
        .output()
        .unwrap_or_else(|e| panic!("cannot run createdb: {e}"));
    assert!(
        out.status.success(),
        "createdb {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!(
        "postgres://{USER}@127.0.0.1:{}/{name}",
        cluster.port
    ))
}

/// The port of this process's cluster, starting it if need be (`None` as in `fresh_database`).
pub fn port() -> Option<u16> {
    CLUSTER
        .get_or_init(|| start(false))
        .as_ref()
        .map(|c| c.port)
}

/// Run `sql` with the cluster's `psql` on the database at `url`; its unaligned rows.
pub fn psql(url: &str, sql: &str) -> String {
    let cluster = CLUSTER
        .get()
        .or(TLS_CLUSTER.get())
        .and_then(Option::as_ref)
        .expect("the test cluster runs");
    let out = Command::new(cluster.bin.join("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("psql prints hex and names only")
}

/// Every value of every column of every table in the database at `url`, each read as hex
/// (`encode`) and decoded back, one value per line: bytea as stored, anything else as text.
pub fn all_stored_bytes(url: &str) -> Vec<u8> {
    let columns = psql(
        url,
        "SELECT format('SELECT encode(%s, ''hex'') FROM public.%I', \
           CASE WHEN data_type = 'bytea' THEN quote_ident(column_name) \
           ELSE format('convert_to(%I::text, ''UTF8'')', column_name) END, table_name) \
         FROM information_schema.columns WHERE table_schema = 'public'",
    );
    let selects: Vec<&str> = columns.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        selects.iter().any(|s| s.contains("api_keys_v1")),
        "no linkdock tables in {url}: {columns}"
    );
    let mut out = Vec::new();
    for line in psql(url, &selects.join(" UNION ALL ")).lines() {
        out.extend(unhex(line));
        out.push(b'\n');
    }
    out
}

/// The keys of `table` at `url`, in key order.
pub fn keys_of(url: &str, table: &str) -> Vec<Vec<u8>> {
    psql(
        url,
        &format!("SELECT encode(k, 'hex') FROM public.\"{table}\" ORDER BY k"),
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(unhex)
    .collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex from psql: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from psql"))
        .collect()
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has a server.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn start(tls: bool) -> Option<Cluster> {
    let Some(bin) = find_bin() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres), and CI \
                 must run the PostgreSQL tests: install Debian's `postgresql` package"
            );
        }
        eprintln!(
            "\n*** SKIPPED: PostgreSQL not installed (no /usr/lib/postgresql/*/bin/postgres); \
             the PostgreSQL tests did not run ***\n"
        );
        return None;
    };
    let mut last = String::new();
    // A port found free can be taken before the server binds it: try again on another.
    for attempt in 0..3 {
        match start_on(&bin, attempt, tls) {
            Ok(cluster) => return Some(cluster),
            Err(e) => last = e,
        }
    }
    panic!("the test PostgreSQL cluster did not start: {last}");
}

/// Root may not run PostgreSQL: as root, its commands run as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn start_on(bin: &Path, attempt: u32, tls: bool) -> Result<Cluster, String> {
    let kind = if tls { "tls-" } else { "" };
    let dir = std::env::temp_dir().join(format!(
        "linkdock-pg-{kind}{}-{attempt}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if is_root() {
        let uid = id_of("-u")?;
        let gid = id_of("-g")?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to postgres: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            USER,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut server_options: Vec<String> = Vec::new();
    if tls {
        make_certificate(&dir)?;
        for (name, value) in [
            ("ssl", "on".to_owned()),
            (
                "ssl_cert_file",
                dir.join("server.crt").display().to_string(),
            ),
            ("ssl_key_file", dir.join("server.key").display().to_string()),
        ] {
            server_options.push("-c".into());
            server_options.push(format!("{name}={value}"));
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    // Runs the server, waits for stdin to close, then stops the server and deletes the folder.
    // Arguments after the third are more server options.
    const SHELL: &str = r#"
bin="$1"; dir="$2"; port="$3"; shift 3
"$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off "$@" >"$dir/log" 2>&1 &
echo $! >"$dir/pid"
cat >/dev/null
kill -INT "$(cat "$dir/pid")"
wait
rm -rf "$dir"
"#;
    let mut shell = as_server_user(Path::new("/bin/sh"))
        .args(["-c", SHELL, "sh"])
        .arg(bin)
        .arg(&dir)
        .arg(port.to_string())
        .args(&server_options)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let lifeline = shell.stdin.take().ok_or("no pipe to the shell")?;
    let cluster = Cluster {
        bin: bin.to_owned(),
        port,
        _lifeline: lifeline,
        _shell: shell,
    };
    let log = || std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(cluster);
        }
        let pid = std::fs::read_to_string(dir.join("pid")).unwrap_or_default();
        let pid = pid.trim();
        if !pid.is_empty() && !alive(pid) {
            return Err(format!("postgres exited: {}", log()));
        }
        if Instant::now() > deadline {
            return Err(format!("postgres not ready after 60 s: {}", log()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A throwaway self-signed certificate for 127.0.0.1 in `dir`, made as the server user: the
/// server takes a key file only if that user owns it and no one else may read it.
fn make_certificate(dir: &Path) -> Result<(), String> {
    let out = as_server_user(Path::new("openssl"))
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl could not make a certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let out = as_server_user(Path::new("chmod"))
        .arg("600")
        .arg(dir.join("server.key"))
        .output()
        .map_err(|e| format!("cannot run chmod: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot make the key private: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A process that has exited, even one not yet reaped, is not alive.
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(Path::new("/proc").join(pid).join("stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// The `postgres` user's uid (`-u`) or gid (`-g`).
fn id_of(flag: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "there is no `postgres` user to run the server as".to_owned())
}

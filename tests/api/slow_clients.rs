//! Slow clients cannot hold connections: headers must arrive within `server.header_timeout`,
//! a body must keep `server.body_min_bytes_per_second` past `server.body_timeout`, or the
//! request gets 408 and the connection is closed.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{base_config, start, Options, TestApp};

/// A server whose limits are all one second.
async fn impatient_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let config_path = dir.path().join("linkdock.toml");
    let text = base_config(&dir.path().join("data"), "").replacen(
        "[server]\n",
        "[server]\nheader_timeout = \"1s\"\nbody_timeout = \"1s\"\nbody_min_bytes_per_second = 1000\n",
        1,
    );
    std::fs::write(&config_path, text).unwrap();
    start(dir, config_path, &Options::default()).await
}

/// Send `head`, then one byte of `drip` every 100 ms, reading in between, until the server
/// answers and closes (or `rounds` rounds pass). Returns what the server sent and whether it
/// closed the connection.
fn trickle(port: u16, head: &str, drip: &'static [u8], rounds: usize) -> (String, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for i in 0..rounds {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // Reset after the answer: closed too.
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
        // Once the answer has begun, stop sending and wait for the close.
        if got.is_empty() {
            let _ = s.write_all(&drip[i % drip.len()..=i % drip.len()]);
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_gets_408_and_the_connection_closes() {
    let app = impatient_app().await;
    let port = app.port;
    // Ten bytes a second for a body of 10,000: it would take 1,000 seconds.
    let head = "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n";
    let (answer, closed) = tokio::task::spawn_blocking(move || {
        trickle(port, head, b"{\"username\": \"admin\"  ", 100)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    assert!(closed, "the connection stays open: {answer}");
    // Twenty at once are all cut off too, and the server still answers everyone else.
    let slow: Vec<_> = (0..20)
        .map(|_| tokio::task::spawn_blocking(move || trickle(port, head, b"[1, 2, 3]", 100)))
        .collect();
    for c in slow {
        let (answer, closed) = c.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408") && closed, "{answer:?}");
    }
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        app.logs().contains("request body too slow"),
        "{}",
        app.logs()
    );
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_get_408_and_the_connection_closes() {
    let app = impatient_app().await;
    let port = app.port;
    let (answer, closed) = tokio::task::spawn_blocking(move || {
        // Four times the limit, and less than actix's own default of 5 s.
        trickle(
            port,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            b"X-Slow: zzzz\r\n",
            40,
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(closed, "the connection stays open: {answer}");
}

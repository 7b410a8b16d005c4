//! `linkdock healthcheck`: one `GET /healthz` to the local server, for container health checks.
//!
//! A plain blocking HTTP/1.1 request over `std::net::TcpStream`: the probe runs in an empty
//! image (no shell, no curl, no resolver), once every few seconds, and needs no HTTP client.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long the whole probe may take: connect, send, and read the answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of the answer that is read; `/healthz` answers well under 1 KiB.
const MAX_ANSWER: u64 = 64 * 1024;

/// Where to probe a server that listens on `listen`: a wildcard address (`0.0.0.0`, `::`)
/// accepts on loopback too, and is not an address one can connect to everywhere.
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Ok when `GET /healthz` on `addr` answers 200 with `"status":"ok"` within `timeout`;
/// otherwise a one-line reason.
pub fn check(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    if addr.port() == 0 {
        return Err(format!(
            "the listen address {addr} has port 0: set the port in the config or LINKDOCK_LISTEN"
        ));
    }
    let url = format!("http://{addr}/healthz");
    let answer = get_healthz(addr, timeout).map_err(|e| format!("{url}: {e}"))?;
    let status_line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let status_line = status_line.trim_end();
    let code = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split(' ').nth(1))
        .ok_or_else(|| format!("{url}: not an HTTP answer: {status_line:?}"))?;
    if code != "200" {
        return Err(format!("{url}: answered {status_line:?}"));
    }
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |i| &answer[i + 4..]);
    if !contains(body, br#""status":"ok""#) {
        let body = String::from_utf8_lossy(body);
        return Err(format!(
            "{url}: 200 without \"status\":\"ok\": {}",
            body.trim()
        ));
    }
    Ok(())
}

/// Send the request and read the whole answer (the server closes the connection after it),
/// all within `timeout`.
fn get_healthz(addr: SocketAddr, timeout: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {}s", timeout.as_secs_f32()))
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: linkdock-healthcheck\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut reader = (&stream).take(MAX_ANSWER);
    loop {
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(answer),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no answer within {}s", timeout.as_secs_f32()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server that reads the request and writes `answer` (or nothing), then closes.
    fn serve_once(answer: Option<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let mut seen = Vec::new();
            while !contains(&seen, b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            match answer {
                Some(a) => conn.write_all(a.as_bytes()).unwrap(),
                // Silent: hold the connection until the client gives up and closes it.
                None => while conn.read(&mut buf).is_ok_and(|n| n > 0) {},
            }
        });
        addr
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 44\r\n\r\n{\"status\":\"ok\",\"version\":\"0.1.0\",\"db\":\"ok\"}";

    #[test]
    fn a_wildcard_listen_address_is_probed_on_loopback() {
        let probe = |s: &str| probe_addr(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(probe("[::]:8080"), "[::1]:8080");
        assert_eq!(probe("127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(probe("10.1.2.3:80"), "10.1.2.3:80");
    }

    #[test]
    fn a_200_with_status_ok_passes() {
        assert_eq!(check(serve_once(Some(OK)), TIMEOUT), Ok(()));
    }

    #[test]
    fn another_status_or_body_fails_with_the_reason() {
        let e = check(
            serve_once(Some(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
            )),
            TIMEOUT,
        )
        .unwrap_err();
        assert!(e.contains("503"), "{e}");
        let e = check(
            serve_once(Some(
                "HTTP/1.1 200 OK\r\ncontent-length: 18\r\n\r\n{\"status\":\"error\"}",
            )),
            TIMEOUT,
        )
        .unwrap_err();
        assert!(e.contains("without"), "{e}");
        let e = check(serve_once(Some("SSH-2.0-OpenSSH\r\n")), TIMEOUT).unwrap_err();
        assert!(e.contains("not an HTTP answer"), "{e}");
    }

    #[test]
    fn a_silent_server_fails_with_the_timeout() {
        let e = check(serve_once(None), Duration::from_millis(300)).unwrap_err();
        assert!(e.contains("no answer within 0.3s"), "{e}");
    }

    #[test]
    fn port_0_and_a_closed_port_fail() {
        let e = check("127.0.0.1:0".parse().unwrap(), TIMEOUT).unwrap_err();
        assert!(e.contains("port 0"), "{e}");
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = check(free, TIMEOUT).unwrap_err();
        assert!(e.starts_with(&format!("http://{free}/healthz: ")), "{e}");
    }
}

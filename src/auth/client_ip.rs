//! The address a request came from: the socket peer, or — only when the peer is a trusted
//! proxy — the first untrusted address in the forwarding header, read from the right.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::config::Config;

pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let trusted = config.trusted_proxies();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if trusted.is_empty() || !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in req.headers().get_all(header::FORWARDED) {
        for part in v.to_str().unwrap_or("").split([',', ';']) {
            let part = part.trim();
            if part.len() > 4 && part[..4].eq_ignore_ascii_case("for=") {
                if let Some(ip) = parse_forwarded_node(&part[4..]) {
                    hops.push(ip);
                }
            }
        }
    }
    if hops.is_empty() {
        for v in req.headers().get_all("x-forwarded-for") {
            for part in v.to_str().unwrap_or("").split(',') {
                if let Some(ip) = parse_forwarded_node(part.trim()) {
                    hops.push(ip);
                }
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:80"`, `2001:db8::1`.
fn parse_forwarded_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_nodes_parse_in_their_usual_shapes() {
        for (raw, ip) in [
            ("1.2.3.4", "1.2.3.4"),
            ("1.2.3.4:5678", "1.2.3.4"),
            ("\"[2001:db8::1]:80\"", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(
                parse_forwarded_node(raw),
                Some(ip.parse().unwrap()),
                "{raw}"
            );
        }
        assert_eq!(parse_forwarded_node("unknown"), None);
    }
}

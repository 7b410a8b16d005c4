//! The address a request came from: the socket peer, or — only when the peer is a trusted
//! proxy — the client named by the one configured forwarding header, read from the right
//! and skipping trusted hops. Every other forwarding header is ignored, so a caller can never
//! choose the address that a whitelist or a limiter sees.

use std::net::IpAddr;

use actix_web::http::header::{self, HeaderName};
use actix_web::HttpRequest;

use crate::config::{ClientIpHeader, Config};

pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let trusted = config.trusted_proxies();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops = hops(req, config.client_ip_header());
    // From the right: each trusted proxy vouches for the hop to its left.
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = ip.to_canonical();
                if !is_trusted(client) {
                    break;
                }
            }
            // An address we cannot read: nothing left of it can be believed.
            None => break,
        }
    }
    Some(client)
}

/// The hops the configured header lists, left to right (`None` for one that is unreadable).
fn hops(req: &HttpRequest, which: ClientIpHeader) -> Vec<Option<IpAddr>> {
    let values = |name: HeaderName| {
        req.headers()
            .get_all(name)
            .map(|v| v.to_str().unwrap_or(""))
            .collect::<Vec<_>>()
    };
    match which {
        ClientIpHeader::XForwardedFor => values(HeaderName::from_static("x-forwarded-for"))
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(|part| parse_node(part.trim()))
            .collect(),
        ClientIpHeader::Forwarded => values(header::FORWARDED)
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(v.trim()))
                })
            })
            .collect(),
        // Set, not appended, by the proxy: only the last one counts.
        ClientIpHeader::XRealIp => values(HeaderName::from_static("x-real-ip"))
            .last()
            .map(|v| vec![parse_node(v.trim())])
            .unwrap_or_default(),
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:80"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
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
    use actix_web::test::TestRequest;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n{extra}"),
            "test",
        )
        .unwrap()
    }

    fn ip_of(req: TestRequest, c: &Config) -> String {
        client_ip(&req.to_http_request(), c).unwrap().to_string()
    }

    #[test]
    fn forwarded_nodes_parse_in_their_usual_shapes() {
        for (raw, ip) in [
            ("1.2.3.4", "1.2.3.4"),
            ("1.2.3.4:5678", "1.2.3.4"),
            ("\"[2001:db8::1]:80\"", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(parse_node(raw), Some(ip.parse().unwrap()), "{raw}");
        }
        assert_eq!(parse_node("unknown"), None);
    }

    #[test]
    fn only_the_configured_header_counts_and_only_from_a_trusted_peer() {
        let xff = config("");
        let from_proxy = || TestRequest::default().peer_addr("10.0.0.2:4000".parse().unwrap());
        // The client's own Forwarded header cannot beat the proxy's X-Forwarded-For.
        let req = from_proxy()
            .insert_header(("forwarded", "for=203.0.113.7"))
            .insert_header(("x-forwarded-for", "198.51.100.9"));
        assert_eq!(ip_of(req, &xff), "198.51.100.9");
        // A client smuggling an address in front of its own is read from the right.
        let req = from_proxy().insert_header(("x-forwarded-for", "203.0.113.7, 198.51.100.9"));
        assert_eq!(ip_of(req, &xff), "198.51.100.9");
        // Trusted hops are skipped.
        let req = from_proxy().insert_header(("x-forwarded-for", "198.51.100.9, 10.1.1.1"));
        assert_eq!(ip_of(req, &xff), "198.51.100.9");
        // From an untrusted peer nothing is believed.
        let req = TestRequest::default()
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.7"));
        assert_eq!(ip_of(req, &xff), "192.0.2.1");

        let fwd = config("client_ip_header = \"forwarded\"\n");
        let req = from_proxy()
            .insert_header((
                "forwarded",
                "for=203.0.113.7;proto=https, for=\"[2001:db8::1]:80\"",
            ))
            .insert_header(("x-forwarded-for", "198.51.100.9"));
        assert_eq!(ip_of(req, &fwd), "2001:db8::1");

        let real = config("client_ip_header = \"x-real-ip\"\n");
        let req = from_proxy()
            .insert_header(("x-real-ip", "198.51.100.9"))
            .insert_header(("x-forwarded-for", "203.0.113.7"));
        assert_eq!(ip_of(req, &real), "198.51.100.9");
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(ip_of(from_proxy(), &real), "10.0.0.2");
        // An unreadable hop stops the walk at the last hop that could be read.
        let req = from_proxy().insert_header(("x-forwarded-for", "203.0.113.7, garbage"));
        assert_eq!(ip_of(req, &xff), "10.0.0.2");
    }
}

//! A tiny MaxMind DB writer, so that tests need no downloaded database. The format is public
//! (<https://maxmind.github.io/MaxMind-DB/>): a binary search tree of 24-bit records over the
//! address bits, 16 zero bytes, a data section of MaxMind DB values, then the metadata marker
//! and a metadata map. IPv4 only (`ip_version` 4), which the `maxminddb` reader accepts.
//! Shared by the black-box tests (`tests/support`) and the unit test of `store::geoip`.
#![allow(dead_code)]

use std::net::Ipv4Addr;

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// A database where each `(network, prefix length, ISO code)` maps to
/// `{"country": {"iso_code": code}}`; other addresses have no record.
pub fn country_db(networks: &[(Ipv4Addr, u8, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty; 2]];
    for &(net, len, code) in networks {
        assert!((1..=32).contains(&len), "prefix length 1 to 32");
        let offset = data.len();
        map(&mut data, 1);
        string(&mut data, "country");
        map(&mut data, 1);
        string(&mut data, "iso_code");
        string(&mut data, code);
        let bits = u32::from(net);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == len {
                nodes[node][bit] = Rec::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Rec::Node(next) => next,
                _ => {
                    nodes.push([Rec::Empty; 2]);
                    let next = nodes.len() - 1;
                    nodes[node][bit] = Rec::Node(next);
                    next
                }
            };
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for pair in &nodes {
        for rec in pair {
            let value = match *rec {
                Rec::Empty => count,
                Rec::Node(n) => n,
                Rec::Data(off) => count + 16 + off,
            };
            out.extend_from_slice(&u32::try_from(value).unwrap().to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    map(&mut out, 9);
    string(&mut out, "node_count");
    uint(&mut out, 6, count as u64);
    string(&mut out, "record_size");
    uint(&mut out, 5, 24);
    string(&mut out, "ip_version");
    uint(&mut out, 5, 4);
    string(&mut out, "database_type");
    string(&mut out, "linkdock-test-country");
    string(&mut out, "languages");
    out.extend_from_slice(&[0x01, 0x04]); // an array (extended type 11) of one
    string(&mut out, "en");
    string(&mut out, "binary_format_major_version");
    uint(&mut out, 5, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, 5, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, 9, 1_800_000_000);
    string(&mut out, "description");
    map(&mut out, 1);
    string(&mut out, "en");
    string(&mut out, "linkdock test database");
    out
}

fn map(out: &mut Vec<u8>, entries: u8) {
    assert!(entries < 29);
    out.push(0xE0 | entries);
}

fn string(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 29);
    out.push(0x40 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// An unsigned integer of MaxMind type 5 (uint16), 6 (uint32) or 9 (uint64), in as few
/// big-endian bytes as it needs.
fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let len = (8 - skip) as u8;
    if kind < 8 {
        out.push((kind << 5) | len);
    } else {
        out.push(len);
        out.push(kind - 7);
    }
    out.extend_from_slice(&bytes[skip..]);
}

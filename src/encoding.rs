//! Text encodings of bytes and numbers: hex and fixed-width base62. A leaf: it imports nothing
//! from the crate, so keys, slugs, sessions and assets can all use it.

use std::fmt::Write as _;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The base62 alphabet, in digit order.
pub fn base62_alphabet() -> &'static [u8; 62] {
    BASE62
}

/// `n` in base62, left-padded with `0` to `width` characters (the high digits are dropped
/// when `n` needs more than `width`).
pub fn base62_fixed(n: u128, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    base62_into(n, &mut digits);
    digits.into_iter().map(char::from).collect()
}

/// `n` in base62 into `out`, left-padded with `0` (the high digits are dropped when `n` needs
/// more): the allocation-free form, for checks that run on every request.
pub fn base62_into(mut n: u128, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Hex (either case) back to bytes; `None` for an odd length or a non-hex character.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_is_fixed_width_and_hex_round_trips() {
        assert_eq!(base62_fixed(0, 3), "000");
        assert_eq!(base62_fixed(61, 2), "0z");
        assert_eq!(base62_fixed(62, 2), "10");
        assert_eq!(hex(&[0, 171, 255]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 171, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}

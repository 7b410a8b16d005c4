// The offline check of an API key, as the server does it (src/keys/mod.rs, check_format):
// `<prefix>_<44 base62 body><6 base62 checksum>`, where the checksum is the CRC32 (IEEE) of the
// body written in base62 (0-9A-Za-z), left-padded to 6 characters. A key that fails here is
// mistyped or not a key at all, and needs no question to the server.

const BODY_LEN = 44;
const CHECKSUM_LEN = 6;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let table = null;

/** CRC32 (IEEE 802.3, as crc32fast) of an ASCII string. */
export function crc32(text) {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = table[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `n` in base62, left-padded with "0" to `width` characters. */
export function base62(n, width) {
  let out = "";
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * Check `raw` (as pasted) against the key format with `prefix` (the server's, e.g. "ldk").
 * Returns { ok: true, key } with the trimmed key, or { ok: false, reason, message } where
 * reason is one of "empty", "spaces", "prefix", "length", "characters", "checksum" and message
 * says what is wrong in a sentence, without repeating the key.
 */
export function checkKeyFormat(raw, prefix) {
  const key = String(raw || "").trim();
  const start = `${prefix}_`;
  const rest = BODY_LEN + CHECKSUM_LEN;
  if (!key) return { ok: false, reason: "empty", message: "" };
  if (/\s/.test(key)) {
    return { ok: false, reason: "spaces", message: "The key contains spaces or line breaks: an API key is one unbroken word. Paste it again." };
  }
  if (!key.startsWith(start)) {
    return { ok: false, reason: "prefix", message: `This is not an API key of this server: its keys start with ${start}.` };
  }
  const tail = key.slice(start.length);
  if (tail.length !== rest) {
    const what = tail.length < rest ? "it may have been cut off" : "something was added to it";
    return { ok: false, reason: "length", message: `An API key has ${rest} characters after ${start}; this one has ${tail.length}, so ${what}.` };
  }
  if (!/^[0-9A-Za-z]+$/.test(tail)) {
    return { ok: false, reason: "characters", message: `An API key has only letters and digits after ${start}; this one has other characters.` };
  }
  const body = tail.slice(0, BODY_LEN);
  if (base62(crc32(body), CHECKSUM_LEN) !== tail.slice(BODY_LEN)) {
    return { ok: false, reason: "checksum", message: "The key's checksum does not match: a character was mistyped or changed." };
  }
  return { ok: true, key };
}

//! Small helpers: ids, dates, digests, deterministic content, JSON responses.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A 40-hex-digit key, different on every call (like a DRF token, not a JWT).
pub fn random_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = Sha512::new();
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hex::encode(&hasher.finalize()[..20])
}

/// A short opaque id: a bijection of `n` onto `len` base-62 characters, so ids are unique
/// while `n < 62^len` and look random.
pub fn short_id(n: u64, len: u32, salt: u64) -> String {
    let modulus = 62u64.pow(len);
    // An odd multiplier not divisible by 31 is coprime to 62^len.
    let base = u128::from(n.wrapping_add(salt) % modulus);
    let mut x = ((base * 0x9E37_79B1) % u128::from(modulus)) as u64;
    let mut out = vec![b'0'; len as usize];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(x % 62) as usize];
        x /= 62;
    }
    String::from_utf8(out).expect("ascii")
}

/// Whether an id "hashes odd": decides which variant of a shape a job is answered with.
pub fn id_is_odd(id: &str) -> bool {
    id.bytes().map(u32::from).sum::<u32>() % 2 == 1
}

/// RFC 3339 with microseconds and `Z`.
pub fn date_z(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// RFC 3339 with microseconds and `+00:00`.
pub fn date_offset(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Hex md5 and hex sha512 of `data`.
pub fn digests(data: &[u8]) -> (String, String) {
    (
        hex::encode(Md5::digest(data)),
        hex::encode(Sha512::digest(data)),
    )
}

/// `len` bytes of deterministic pseudo-random content (splitmix64 from `seed`).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Decodes one percent-encoded path segment.
pub fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Query parameters, decoded, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| decode_segment(&s.replace('+', " "));
            (dec(k), dec(v))
        })
        .collect()
}

/// The first value of query parameter `name`.
pub fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A DRF-style `{"detail": ...}` error.
pub fn detail(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "detail": message }))
}

/// DRF's answer to an unknown object or URL.
pub fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

/// A response with a status and no body.
pub fn empty(status: StatusCode) -> Response {
    let mut resp = status.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_unique_and_sized() {
        let ids: std::collections::HashSet<String> =
            (0..200_000).map(|n| short_id(n, 5, 1_234_567)).collect();
        assert_eq!(ids.len(), 200_000);
        assert!(ids.iter().all(|id| id.len() == 5));
    }

    #[test]
    fn dates_have_microseconds() {
        let d = chrono::DateTime::parse_from_rfc3339("2016-04-21T17:24:34.898495Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_z(&d), "2016-04-21T17:24:34.898495Z");
        assert_eq!(date_offset(&d), "2016-04-21T17:24:34.898495+00:00");
    }

    #[test]
    fn pseudo_random_is_deterministic() {
        assert_eq!(pseudo_random(1000, 7), pseudo_random(1000, 7));
        assert_ne!(pseudo_random(1000, 7), pseudo_random(1000, 8));
        assert_eq!(pseudo_random(13, 1).len(), 13);
    }

    #[test]
    fn query_pairs_decode() {
        let pairs = query_pairs(Some("search=a%20b&x=1+2&flag"));
        assert_eq!(query_get(&pairs, "search"), Some("a b"));
        assert_eq!(query_get(&pairs, "x"), Some("1 2"));
        assert_eq!(query_get(&pairs, "flag"), Some(""));
        assert_eq!(query_get(&pairs, "missing"), None);
    }
}

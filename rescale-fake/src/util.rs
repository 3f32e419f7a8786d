//! Small helpers: ids, dates, digests, deterministic content, JSON responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A 40-hex-digit key, different on every call (like a DRF token, not a JWT).
pub fn random_key() -> String {
    let bytes: [u8; 20] = rand::random();
    hex::encode(bytes)
}

/// A random base-62 id of `len` characters for which `taken` is false.
pub fn unique_id(len: usize, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id: String = (0..len)
            .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
            .collect();
        if !taken(&id) {
            return id;
        }
    }
}

/// RFC 3339 with microseconds and `Z`.
pub fn date_z(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Micros, true)
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
    fn unique_ids_avoid_taken_ones_and_are_sized() {
        let mut ids = std::collections::HashSet::new();
        for _ in 0..3_000 {
            let id = unique_id(2, |id| ids.contains(id));
            assert_eq!(id.len(), 2);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
            ids.insert(id);
        }
        assert_eq!(ids.len(), 3_000);
    }

    #[test]
    fn keys_are_random_hex() {
        let (a, b) = (random_key(), random_key());
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
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

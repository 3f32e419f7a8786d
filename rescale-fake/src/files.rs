//! The `files/` endpoints: multipart upload, metadata, ranged download.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use crate::page::PageReq;
use crate::state::Shared;
use crate::util::{self, empty, json_response, not_found};

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    filename: Option<String>,
    data: Bytes,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        match haystack[i..].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => i += p,
        }
        if i + needle.len() <= haystack.len() && &haystack[i..i + needle.len()] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A `name="value"` parameter of a `Content-Disposition` header.
fn disposition_param(line: &str, param: &str) -> Option<String> {
    let key = format!("{param}=\"");
    let mut search = line;
    loop {
        let at = search.find(&key)?;
        // Do not take `filename="` for `name="`.
        let before = search[..at].chars().last();
        let rest = &search[at + key.len()..];
        if before.is_none_or(|c| c == ' ' || c == ';') {
            let end = rest.find('"')?;
            return Some(rest[..end].to_owned());
        }
        search = rest;
    }
}

/// Splits a multipart body; `None` when it is not well formed.
fn parse_multipart(content_type: &str, body: &Bytes) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut pos = find(body, delimiter.as_bytes(), 0)? + delimiter.len();
    let next_delim = format!("\r\n--{boundary}");
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        pos += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).into_owned();
        let data_start = head_end + 4;
        let data_end = find(body, next_delim.as_bytes(), data_start)?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
        parts.push(Part {
            name: disposition_param(disposition, "name")?,
            filename: disposition_param(disposition, "filename"),
            data: body.slice(data_start..data_end),
        });
        pos = data_end + next_delim.len();
    }
}

/// POST files/contents/ with a multipart field `file`.
pub fn upload(s: &mut Shared, headers: &HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return util::detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported media type \"{content_type}\" in request."),
        );
    }
    let Some(parts) = parse_multipart(content_type, &body) else {
        return util::detail(
            StatusCode::BAD_REQUEST,
            "Multipart form parse error - Invalid boundary in multipart: None",
        );
    };
    let Some(part) = parts.into_iter().find(|p| p.name == "file") else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "file": ["No file was submitted."] }),
        );
    };
    let name = part
        .filename
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "file".to_owned());
    let id = s.add_upload(&name, part.data);
    json_response(StatusCode::CREATED, s.file_json(&s.files[&id]))
}

/// GET files/ (uploaded files, newest first; `search` filters by name)
pub fn list(s: &Shared, path: &str, query: Option<&str>) -> Response {
    page_of_files(s, s.uploads.values().rev(), path, query)
}

/// A page of the files `ids` names, in that order, with a `search` in the query keeping
/// those whose name contains it (case-insensitive): `files/` and a job's `files/` alike.
pub fn page_of_files<'a>(
    s: &Shared,
    ids: impl Iterator<Item = &'a String>,
    path: &str,
    query: Option<&str>,
) -> Response {
    let req = match PageReq::parse(s, path, query) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let pairs = util::query_pairs(query);
    let search = util::query_get(&pairs, "search").map(str::to_lowercase);
    let items = ids
        .filter_map(|id| s.files.get(id))
        .filter(|f| {
            search
                .as_deref()
                .is_none_or(|q| f.name.to_lowercase().contains(q))
        })
        .map(|f| s.file_json(f))
        .collect();
    req.respond(items)
}

/// GET files/{id}/
pub fn get(s: &Shared, id: &str) -> Response {
    match s.files.get(id) {
        Some(f) => json_response(StatusCode::OK, s.file_json(f)),
        None => not_found(),
    }
}

/// DELETE files/{id}/
pub fn delete(s: &mut Shared, id: &str) -> Response {
    if s.remove_file(id) {
        empty(StatusCode::NO_CONTENT)
    } else {
        not_found()
    }
}

enum RangeAsk {
    Whole,
    Part(usize, usize),
    Unsatisfiable,
}

/// Reads a single `bytes=` range; anything else is ignored (whole file), like most servers.
fn parse_range(header: Option<&str>, len: usize) -> RangeAsk {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeAsk::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // bytes=-N: the last N bytes
        return match end.parse::<usize>() {
            Ok(0) => RangeAsk::Unsatisfiable,
            Ok(n) if len > 0 => RangeAsk::Part(len.saturating_sub(n), len - 1),
            Ok(_) => RangeAsk::Unsatisfiable,
            Err(_) => RangeAsk::Whole,
        };
    }
    let Ok(start) = start.parse::<usize>() else {
        return RangeAsk::Whole;
    };
    let end = if end.is_empty() {
        len.saturating_sub(1)
    } else {
        match end.parse::<usize>() {
            Ok(e) if e >= start => e.min(len.saturating_sub(1)),
            Ok(_) => return RangeAsk::Whole,
            Err(_) => return RangeAsk::Whole,
        }
    };
    if start >= len {
        RangeAsk::Unsatisfiable
    } else {
        RangeAsk::Part(start, end)
    }
}

fn ascii_name(name: &str) -> String {
    name.chars()
        .filter(|c| (c.is_ascii_graphic() && *c != '"' && *c != '\\') || *c == ' ')
        .collect()
}

/// GET files/{id}/contents/ with `Range` support.
pub fn contents(s: &Shared, id: &str, range: Option<&str>) -> Response {
    let Some(f) = s.files.get(id) else {
        return not_found();
    };
    let len = f.data.len();
    let (status, data, content_range) = match parse_range(range, len) {
        RangeAsk::Whole => (StatusCode::OK, f.data.clone(), None),
        RangeAsk::Part(a, b) => (
            StatusCode::PARTIAL_CONTENT,
            f.data.slice(a..=b),
            Some(format!("bytes {a}-{b}/{len}")),
        ),
        RangeAsk::Unsatisfiable => {
            let mut resp = empty(StatusCode::RANGE_NOT_SATISFIABLE);
            resp.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
            );
            return resp;
        }
    };
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, data.len())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", ascii_name(&f.name)),
        )
        .body(Body::from(data))
        .expect("valid response");
    if let Some(cr) = content_range {
        resp.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&cr).expect("ascii"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let part = |h: &str| match parse_range(Some(h), 100) {
            RangeAsk::Part(a, b) => Some((a, b)),
            _ => None,
        };
        assert_eq!(part("bytes=0-"), Some((0, 99)));
        assert_eq!(part("bytes=10-19"), Some((10, 19)));
        assert_eq!(part("bytes=90-500"), Some((90, 99)));
        assert_eq!(part("bytes=-5"), Some((95, 99)));
        assert!(matches!(
            parse_range(Some("bytes=100-"), 100),
            RangeAsk::Unsatisfiable
        ));
        assert!(matches!(
            parse_range(Some("bytes=0-1,5-6"), 100),
            RangeAsk::Whole
        ));
        assert!(matches!(
            parse_range(Some("items=0-1"), 100),
            RangeAsk::Whole
        ));
        assert!(matches!(parse_range(None, 100), RangeAsk::Whole));
    }

    #[test]
    fn multipart_parts() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n",
        );
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "note");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("a.txt"));
        assert_eq!(parts[1].data.as_ref(), b"line1\r\nline2");
    }
}

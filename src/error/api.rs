//! [`ApiError`]: an HTTP error status answered by the service, read into a message a
//! person can act on.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::{BODY_SNIPPET_CHARS, Redactor};

/// An HTTP error answered by the service: the call, the status, its message, and the raw
/// body.
///
/// `Display` reads `HTTP 404 Not Found on GET jobs/NoSuch/: Not found.`; a 401 adds that
/// the key was refused by that host (a key works only on the platform that issued it).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The method of the call, e.g. `GET`.
    pub method: Method,
    /// The path of the call relative to the base URL, e.g. `jobs/NoSuch/` (empty when not
    /// known).
    pub path: String,
    /// The host that answered, with its port when it is not the scheme's default.
    pub host: String,
    /// The server's message: its `detail`, or its field errors one per line
    /// (`jobanalyses[0].command: This field may not be blank.`), or the start of a non-JSON body.
    /// The server's text is cut to 512 characters (a `detail`, or each field error), and
    /// at most 10 field errors are listed, then how many more there were.
    pub message: String,
    /// Field errors from a validation answer, as `(path, message)` pairs: the first 100,
    /// each cut to 512 characters.
    pub field_errors: Vec<(String, String)>,
    /// The body as received, truncated to a few hundred characters.
    pub body: String,
    /// The wait the service asked for in `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// Whether the request that was answered carried the API key (a redirect to another
    /// host does not), so that a 401 blames the key only when it was sent.
    pub(crate) key_sent: bool,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.path.is_empty() {
            write!(f, " on {} {}", self.method, self.path)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.status == StatusCode::UNAUTHORIZED && self.key_sent && !self.host.is_empty() {
            write!(
                f,
                " (the API key was refused by {}; a key works only on the Rescale platform that issued it)",
                self.host
            )?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Builds the error for a non-success answer from its status and body, with the key
    /// taken out of the body before anything is read from it (so that a cut snippet
    /// cannot hold half of it).
    pub(crate) fn from_response(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        redactor: &Redactor,
    ) -> Self {
        let raw = String::from_utf8_lossy(body);
        let text = redactor.text(&raw);
        let mut field_errors = Vec::new();
        let message = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) if map.contains_key("detail") => {
                match &map["detail"] {
                    serde_json::Value::String(s) => snippet(s),
                    other => snippet(&other.to_string()),
                }
            }
            Ok(value @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                let found = flatten_field_errors("", &value, &mut field_errors);
                let mut lines: Vec<_> = field_errors
                    .iter()
                    .take(MESSAGE_FIELD_ERRORS)
                    .map(|(path, msg)| {
                        if path.is_empty() {
                            msg.clone()
                        } else {
                            format!("{path}: {msg}")
                        }
                    })
                    .collect();
                if found > lines.len() {
                    lines.push(format!("… and {} more field errors", found - lines.len()));
                }
                lines.join("\n")
            }
            Ok(serde_json::Value::String(s)) => snippet(&s),
            _ => snippet(&text_of_html(&text)),
        };
        ApiError {
            status,
            method: Method::GET,
            path: String::new(),
            host: String::new(),
            message,
            field_errors,
            body: snippet(&text),
            retry_after,
            key_sent: true,
        }
    }

    /// Names the call the error answers: its method, its path relative to the base URL,
    /// the host that answered, and whether the key went with it.
    pub(crate) fn on_call(
        mut self,
        method: &Method,
        path: &str,
        host: &str,
        key_sent: bool,
    ) -> Self {
        self.method = method.clone();
        self.path = path.to_owned();
        self.host = host.to_owned();
        self.key_sent = key_sent;
        self
    }
}

/// The most field errors an [`ApiError`] keeps: a validation answer is the server's text,
/// and a real one names a few fields.
pub(crate) const MAX_FIELD_ERRORS: usize = 100;
/// The most field errors its `message` (and so its `Display`) lists.
pub(crate) const MESSAGE_FIELD_ERRORS: usize = 10;

/// Walks a DRF validation tree (`{"jobanalyses": [{"command": ["..."]}]}`) into
/// `("jobanalyses[0].command", "...")` pairs, each path and message cut to a snippet, at
/// most [`MAX_FIELD_ERRORS`] of them; returns how many the tree holds.
fn flatten_field_errors(
    path: &str,
    value: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) -> usize {
    use serde_json::Value;
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, v)| {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten_field_errors(&child, v, out)
            })
            .sum(),
        // A list of strings is the list of messages for `path`; a list of objects is one
        // entry per element of a list in the request.
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => keep_field_error(out, path, s),
                Value::Object(m) if m.is_empty() => 0,
                _ => flatten_field_errors(&format!("{path}[{i}]"), v, out),
            })
            .sum(),
        Value::String(s) => keep_field_error(out, path, s),
        Value::Null => 0,
        other => keep_field_error(out, path, &other.to_string()),
    }
}

/// Keeps one field error, cut to snippets, unless [`MAX_FIELD_ERRORS`] are kept already;
/// counts it either way.
fn keep_field_error(out: &mut Vec<(String, String)>, path: &str, message: &str) -> usize {
    if out.len() < MAX_FIELD_ERRORS {
        out.push((snippet(path), snippet(message)));
    }
    1
}

/// Reduces an HTML error page to its visible text, so that `Display` reads
/// `HTTP 502 Bad Gateway: 502 Bad Gateway` rather than markup.
fn text_of_html(body: &str) -> String {
    if !body.trim_start().starts_with('<') {
        return body.trim().to_owned();
    }
    let mut out = String::with_capacity(body.len().min(1024));
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first [`BODY_SNIPPET_CHARS`] characters of `text`, marked when cut.
pub(crate) fn snippet(text: &str) -> String {
    match text.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_servers_long_message_and_many_field_errors_are_cut() {
        let long = "x".repeat(2_000);
        let body = serde_json::to_vec(&serde_json::json!({ "detail": long })).unwrap();
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, &body, None, &Redactor::default());
        assert_eq!(e.message.chars().count(), BODY_SNIPPET_CHARS + 1);
        assert!(e.message.ends_with('…'));
        assert!(e.to_string().len() < 1024, "{}", e.to_string().len());

        let tree: serde_json::Map<_, _> = (0..1000)
            .map(|i| (format!("field{i:04}"), serde_json::json!([long.clone()])))
            .collect();
        let body = serde_json::to_vec(&tree).unwrap();
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, &body, None, &Redactor::default());
        assert_eq!(e.field_errors.len(), MAX_FIELD_ERRORS);
        assert_eq!(e.field_errors[0].0, "field0000");
        assert_eq!(e.field_errors[0].1.chars().count(), BODY_SNIPPET_CHARS + 1);
        let lines: Vec<_> = e.message.lines().collect();
        assert_eq!(lines.len(), MESSAGE_FIELD_ERRORS + 1);
        assert!(lines[0].starts_with("field0000: xxx"), "{}", lines[0]);
        assert_eq!(lines[MESSAGE_FIELD_ERRORS], "… and 990 more field errors");
        assert!(e.to_string().len() < 8 * 1024, "{}", e.to_string().len());

        let e = Error::decode(StatusCode::OK, long.clone(), long.clone(), "").cut_quoted_text();
        let Error::Decode { path, message, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path.chars().count(), BODY_SNIPPET_CHARS + 1);
        assert_eq!(message.chars().count(), BODY_SNIPPET_CHARS + 1);
    }

    #[test]
    fn field_tree_is_flattened_into_readable_lines() {
        let body = br#"{"jobanalyses": [{"command": ["the 'interactive' flag must be present"]}], "name": ["blank", "too short"]}"#;
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, body, None, &Redactor::default());
        assert_eq!(
            e.field_errors,
            vec![
                (
                    "jobanalyses[0].command".to_owned(),
                    "the 'interactive' flag must be present".to_owned()
                ),
                ("name".to_owned(), "blank".to_owned()),
                ("name".to_owned(), "too short".to_owned()),
            ]
        );
        assert_eq!(
            e.to_string(),
            "HTTP 400 Bad Request: jobanalyses[0].command: the 'interactive' flag must be present\nname: blank\nname: too short"
        );
    }

    #[test]
    fn second_element_of_a_list_keeps_its_index() {
        let body = br#"{"jobanalyses": [{}, {"hardware": {"coresPerSlot": ["must be > 0"]}}]}"#;
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, body, None, &Redactor::default());
        assert_eq!(
            e.message,
            "jobanalyses[1].hardware.coresPerSlot: must be > 0"
        );
    }

    #[test]
    fn html_page_keeps_status_and_reads_as_text() {
        let body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        let e = ApiError::from_response(StatusCode::BAD_GATEWAY, body, None, &Redactor::default());
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.message, "502 Bad Gateway Bad Gateway");
        assert!(Error::Api(Box::new(e)).is_retryable());
    }

    #[test]
    fn snippet_cuts_long_bodies_on_char_boundaries() {
        let long = "é".repeat(BODY_SNIPPET_CHARS + 10);
        let s = snippet(&long);
        assert_eq!(s.chars().count(), BODY_SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}

//! The one error type of the crate, and what it tells about a failed call.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::jobs::JobId;

/// A specialised `Result` whose error is [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of a response body an error keeps.
pub(crate) const BODY_SNIPPET_CHARS: usize = 512;

/// Everything that can go wrong in a call to the Rescale API.
///
/// `Display` always names the cause: the HTTP status and the server's own message for an
/// API error, the JSON path for a body that did not decode, the field for bad input. The
/// API key never appears in any variant.
///
/// ```
/// # fn demo(err: rescale::Error) {
/// if err.is_not_found() {
///     println!("no such job");
/// } else if err.is_retryable() {
///     println!("try again in {:?}", err.retry_after());
/// } else {
///     eprintln!("{err}");
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an HTTP error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The service answered 2xx but the body was not what the API promises.
    #[error(
        "could not decode the response (HTTP {status}) at `{path}`: {message}; body starts: {snippet}"
    )]
    Decode {
        /// HTTP status of the response.
        status: StatusCode,
        /// JSON path of the value that failed, e.g. `results[3].jobStatus.content`.
        path: String,
        /// What serde said.
        message: String,
        /// The start of the body, truncated.
        snippet: String,
    },

    /// The request could not be sent, or the connection failed while it was answered.
    #[error("transport error: {message}")]
    Transport {
        /// A description of the failure (never includes headers or the key).
        message: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The call did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),

    /// An argument was rejected before anything was sent.
    #[error("invalid input: `{field}` {reason}")]
    InvalidInput {
        /// The field, as the caller named it (e.g. `job_analyses[0].command`).
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The client could not be configured (missing key, bad base URL, ...).
    #[error("configuration error: {0}")]
    Config(String),

    /// A paginated listing could not be followed safely.
    #[error("pagination stopped: {0}")]
    Pagination(String),

    /// Reading or writing a local file failed.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The local path involved.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A downloaded file did not match the size or checksum the service gave for it. No
    /// file was left at the target path.
    #[error("`{file}` failed its {check} check: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// The file, as named by the service (its relative path or name).
        file: String,
        /// What was checked: `size`, `sha512` or `md5`.
        check: String,
        /// The value the service gave.
        expected: String,
        /// The value of what was received.
        actual: String,
    },

    /// A path sent by the service would land outside the target directory; nothing was
    /// written for it.
    #[error("refusing the path `{path}` sent by the service: {reason}")]
    UnsafePath {
        /// The path as the service sent it (e.g. a `relativePath`).
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// A call that must not be repeated (create, submit, patch, share) failed after its
    /// request may have reached the service: it may or may not have taken effect. It was
    /// not retried. Look before trying again: list the jobs, or read the statuses of
    /// `job_id`.
    ///
    /// ```
    /// # fn demo(err: rescale::Error) {
    /// if let rescale::Error::OutcomeUnknown { job_id: Some(id), .. } = &err {
    ///     println!("check the statuses of job {id} before submitting it again");
    /// }
    /// # }
    /// ```
    #[error("{}", outcome_unknown_message(operation, job_id.as_ref(), source))]
    OutcomeUnknown {
        /// What was attempted, e.g. `submit job` or `POST jobs/`.
        operation: String,
        /// The job concerned, when the call names one (submit, patch, share).
        job_id: Option<JobId>,
        /// What went wrong: a timeout, a lost connection, a 5xx answer.
        #[source]
        source: Box<Error>,
    },

    /// The service throttled this kind of call (429) for longer than the retry policy
    /// allows waiting ([`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after));
    /// nothing was sent.
    #[error(
        "throttled: the service paused {scope} for another {}s, longer than the retry policy waits",
        retry_after.as_secs_f64().ceil()
    )]
    Throttled {
        /// The throttling scope: `job submission`, `job reads` or `other calls`.
        scope: String,
        /// How long until the service accepts this kind of call again.
        retry_after: Duration,
    },
}

fn outcome_unknown_message(operation: &str, job_id: Option<&JobId>, source: &Error) -> String {
    let check = match job_id {
        Some(id) => format!("check job {id} (its statuses) before trying again"),
        None => "check before trying again, or a second job may be made".to_owned(),
    };
    format!(
        "outcome unknown: `{operation}` may or may not have taken effect, so it was not retried ({source}); {check}"
    )
}

/// Input refused before anything was sent; becomes [`Error::InvalidInput`] with `?`.
/// Kept apart from `Error` because it is cloneable: a list request holds it until used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) field: String,
    pub(crate) reason: String,
}

impl Invalid {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::InvalidInput {
            field: e.field,
            reason: e.reason,
        }
    }
}

/// An HTTP error answered by the service: the status, its message, and the raw body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The server's message: its `detail`, or its field errors one per line
    /// (`jobanalyses[0].command: This field may not be blank.`), or the start of a non-JSON body.
    pub message: String,
    /// Field errors from a validation answer, as `(path, message)` pairs.
    pub field_errors: Vec<(String, String)>,
    /// The body as received, truncated to a few hundred characters.
    pub body: String,
    /// The wait the service asked for in `Retry-After`, if any.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Builds the error for a non-success answer from its status and body.
    pub(crate) fn from_response(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let text = String::from_utf8_lossy(body);
        let mut field_errors = Vec::new();
        let message = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) if map.contains_key("detail") => {
                match &map["detail"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            }
            Ok(value @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                flatten_field_errors("", &value, &mut field_errors);
                field_errors
                    .iter()
                    .map(|(path, msg)| {
                        if path.is_empty() {
                            msg.clone()
                        } else {
                            format!("{path}: {msg}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Ok(serde_json::Value::String(s)) => s,
            _ => snippet(&text_of_html(&text)),
        };
        ApiError {
            status,
            message,
            field_errors,
            body: snippet(&text),
            retry_after,
        }
    }
}

/// Walks a DRF validation tree (`{"jobanalyses": [{"command": ["..."]}]}`) into
/// `("jobanalyses[0].command", "...")` pairs.
fn flatten_field_errors(path: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten_field_errors(&child, v, out);
            }
        }
        Value::Array(items) => {
            // A list of strings is the list of messages for `path`; a list of objects is
            // one entry per element of a list in the request.
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::String(s) => out.push((path.to_owned(), s.clone())),
                    Value::Object(m) if m.is_empty() => {}
                    _ => flatten_field_errors(&format!("{path}[{i}]"), v, out),
                }
            }
        }
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Null => {}
        other => out.push((path.to_owned(), other.to_string())),
    }
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

impl Error {
    /// The HTTP status the service answered, when there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            Error::Transport { source, .. } => source.status(),
            Error::OutcomeUnknown { source, .. } => source.status(),
            Error::Throttled { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// The API error (status, message, field errors), when the service answered one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::OutcomeUnknown { source, .. } => source.api_error(),
            _ => None,
        }
    }

    /// `true` when the service answered 404: the job, file or page does not exist
    /// (or is not visible to this key).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// `true` when the same call may succeed if made again later: throttling (429),
    /// a server, gateway or availability error (500, 502, 503, 504), a timeout or a
    /// connection failure.
    ///
    /// This says nothing about whether repeating the call is *safe*: creating or
    /// submitting a job twice can start two billed jobs. [`Error::OutcomeUnknown`] is
    /// therefore never retryable: look first (see [`is_outcome_unknown`](Error::is_outcome_unknown)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } => true,
            Error::Api(e) => matches!(e.status.as_u16(), 429 | 500 | 502 | 503 | 504),
            Error::Transport { source, .. } => {
                source.is_connect() || source.is_timeout() || source.is_request()
            }
            Error::Timeout(_) => true,
            _ => false,
        }
    }

    /// The wait the service asked for with `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            Error::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// `true` when a create, submit, patch or share may or may not have taken effect
    /// ([`Error::OutcomeUnknown`]): look before repeating it.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// `true` when the call ran out of time: its attempt or its whole deadline.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Transport { source, .. } => source.is_timeout(),
            Error::OutcomeUnknown { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Maps an I/O error on `path` (for `map_err`).
    pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn transport(source: reqwest::Error) -> Self {
        // reqwest's Display includes the URL, which holds no secret (the key travels in a
        // header only), but is stripped to the path to keep messages short.
        let source = source.without_url();
        let message = describe_transport(&source);
        Error::Transport { message, source }
    }
}

fn describe_transport(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_tree_is_flattened_into_readable_lines() {
        let body = br#"{"jobanalyses": [{"command": ["the 'interactive' flag must be present"]}], "name": ["blank", "too short"]}"#;
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, body, None);
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
        let e = ApiError::from_response(StatusCode::BAD_REQUEST, body, None);
        assert_eq!(
            e.message,
            "jobanalyses[1].hardware.coresPerSlot: must be > 0"
        );
    }

    #[test]
    fn html_page_keeps_status_and_reads_as_text() {
        let body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        let e = ApiError::from_response(StatusCode::BAD_GATEWAY, body, None);
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

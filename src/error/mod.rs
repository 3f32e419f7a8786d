//! The one error type of the crate, and what it tells about a failed call.

use std::time::Duration;

use reqwest::StatusCode;

mod api;
mod redact;

pub use api::ApiError;
pub(crate) use api::snippet;
pub(crate) use redact::Redactor;

pub(crate) use crate::id::Invalid;
use crate::id::JobId;

/// A specialised `Result` whose error is [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of a response body an error keeps.
pub(crate) const BODY_SNIPPET_CHARS: usize = 512;

/// Everything that can go wrong in a call to the Rescale API.
///
/// `Display` says what went wrong at this level: the HTTP status, the call and the
/// server's own message for an API error, the JSON path for a body that did not decode,
/// the field for bad input, the host that could not be reached. An error caused by
/// another one ([`Transport`](Error::Transport), [`Io`](Error::Io),
/// [`OutcomeUnknown`](Error::OutcomeUnknown)) does not repeat its cause in `Display`: the
/// cause is [`source()`](std::error::Error::source), as the standard library's guidance
/// and the AWS SDK have it, so that a report that walks the chain (`anyhow`'s `{:#}`,
/// `tracing`'s error fields) shows each cause once:
///
/// ```
/// # fn demo(err: rescale::Error) {
/// let mut text = err.to_string();
/// let mut cause = std::error::Error::source(&err);
/// while let Some(c) = cause {
///     text.push_str(": ");
///     text.push_str(&c.to_string());
///     cause = c.source();
/// }
/// eprintln!("{text}");
/// # }
/// ```
///
/// The API key never appears in any variant: text the server sends (a message, a body, a
/// header) has the key, `Token <key>` and `Bearer <key>` replaced by `[redacted]`.
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
        "could not decode the answer to {call} (HTTP {status}) at `{path}`: {message}; body starts: {snippet}"
    )]
    #[non_exhaustive]
    Decode {
        /// The call whose answer this was, e.g. `GET jobs/LeeKa/` (the path relative to the
        /// base URL, as [`ApiError`] names a call).
        call: String,
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
    /// `Display` names the host; the cause (refused, reset, TLS, ...) is `source()`.
    #[error("transport error: {message}")]
    Transport {
        /// What failed, naming the host, e.g. `could not connect to eu.rescale.com`
        /// (never includes headers or the key; the cause is `source`).
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
    #[error("I/O error on `{}`", path.display())]
    Io {
        /// The local path involved. Part of it may come from the service (an output's
        /// `relativePath`): the API key is taken out of it, and a path longer than 512
        /// characters is cut.
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

    /// A path sent by the service was refused: it would land outside the target directory,
    /// on something there that is not a plain directory, or on the path of another file
    /// of the same download. Nothing was written for it.
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
    #[error("{}", outcome_unknown_message(operation, job_id.as_ref()))]
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

/// Replaces the error in `slot` (an unknown outcome's source) with `f` of it.
pub(crate) fn rewrite(slot: &mut Error, f: impl FnOnce(Error) -> Error) {
    let inner = std::mem::replace(slot, Error::Timeout(String::new()));
    *slot = f(inner);
}

fn outcome_unknown_message(operation: &str, job_id: Option<&JobId>) -> String {
    let check = match job_id {
        Some(id) => format!("check job {id} (its statuses) before trying again"),
        None => "check before trying again, or it may take effect twice (a second job, a \
                 second copy of a file)"
            .to_owned(),
    };
    format!(
        "outcome unknown: `{operation}` may or may not have taken effect, so it was not retried; {check}"
    )
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::InvalidInput {
            field: e.field,
            reason: e.reason,
        }
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

    /// A [`Error::Decode`] made below the transport, which does not know the call yet;
    /// the transport names it (`Transport::call_error`).
    pub(crate) fn decode(
        status: StatusCode,
        path: impl Into<String>,
        message: impl Into<String>,
        snippet: impl Into<String>,
    ) -> Self {
        // The path is made of the server's keys, and serde's message may quote its values:
        // both are cut as the body is, once the key is out of them (`cut_quoted_text`).
        Error::Decode {
            call: String::new(),
            status,
            path: path.into(),
            message: message.into(),
            snippet: snippet.into(),
        }
    }

    /// The error with the server's text it quotes cut as a body's snippet is: a decode
    /// error's path and message, a refused path, a checksum mismatch's file and sums, and
    /// a local path past that length. Applied after the key is taken out: a cut first could
    /// leave part of the key behind, past the reach of the redaction.
    pub(crate) fn cut_quoted_text(mut self) -> Self {
        match &mut self {
            Error::Decode { path, message, .. } => {
                *path = api::snippet(path);
                *message = api::snippet(message);
            }
            Error::OutcomeUnknown { source, .. } => rewrite(source, Error::cut_quoted_text),
            Error::UnsafePath { path, .. } => *path = api::snippet(path),
            Error::ChecksumMismatch {
                file,
                expected,
                actual,
                ..
            } => {
                for s in [file, expected, actual] {
                    *s = api::snippet(s);
                }
            }
            Error::Io { path, .. } => {
                let text = path.to_string_lossy();
                if text.chars().count() > BODY_SNIPPET_CHARS {
                    *path = api::snippet(&text).into();
                }
            }
            _ => {}
        }
        self
    }

    /// Names the call in a [`Error::Decode`] that does not name one yet (`call` is made
    /// only then); any other error is returned as it is.
    pub(crate) fn naming_call(mut self, call: impl FnOnce() -> String) -> Self {
        if let Error::Decode { call: named, .. } = &mut self
            && named.is_empty()
        {
            *named = call();
        }
        self
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
        let host = source
            .url()
            .map(host_of)
            .unwrap_or_else(|| "the service".to_owned());
        let message = if source.is_connect() {
            format!("could not connect to {host}")
        } else if source.is_timeout() {
            format!("no answer in time from {host}")
        } else if source.is_builder() {
            format!("the request to {host} could not be built")
        } else if source.is_body() || source.is_decode() {
            format!("the connection to {host} failed while the answer was read")
        } else {
            format!("the request to {host} failed")
        };
        // reqwest's Display would add the URL, which holds no secret (the key travels in a
        // header only) but says more than the host the message names.
        Error::Transport {
            message,
            source: source.without_url(),
        }
    }
}

/// `host` or `host:port` of a URL, the port only when it is not the scheme's default.
pub(crate) fn host_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

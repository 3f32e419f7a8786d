//! A request as a resource module describes it: method, URL, body, and whether sending
//! it twice could do something twice.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use url::Url;

use super::Activity;
use crate::error::{Error, Result};
use crate::id::JobId;
use crate::retry::Idempotency;

/// Makes the multipart form of an upload, once per attempt, whose body touches the
/// [`Activity`] as it is sent. `None` when the body cannot be made again (a reader that
/// was already consumed).
pub(crate) type FormFactory =
    Arc<dyn Fn(&Activity) -> Option<reqwest::multipart::Form> + Send + Sync>;

/// What a request carries.
#[derive(Clone, Default)]
pub(crate) enum Body {
    /// No body.
    #[default]
    Empty,
    /// A JSON document, already encoded.
    Json(Bytes),
    /// A multipart upload of known length, made anew for each attempt.
    Multipart(FormFactory),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Body::Multipart(_) => f.write_str("Multipart"),
        }
    }
}

/// A request as a resource module describes it.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Body,
    pub(crate) idempotency: Idempotency,
    pub(crate) headers: HeaderMap,
    /// What the call does, in the user's words (`submit job`), for errors.
    pub(crate) operation: Option<&'static str>,
    /// The job the call is about, carried into an [`Error::OutcomeUnknown`].
    pub(crate) job_id: Option<JobId>,
}

impl ApiRequest {
    pub(crate) fn new(method: Method, url: Url) -> Self {
        let idempotency = if method == Method::POST || method == Method::PATCH {
            Idempotency::NotIdempotent
        } else {
            Idempotency::Idempotent
        };
        ApiRequest {
            method,
            url,
            body: Body::Empty,
            idempotency,
            headers: HeaderMap::new(),
            operation: None,
            job_id: None,
        }
    }

    pub(crate) fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    /// Sets a JSON body. Serialising a model cannot fail for the crate's own types; any
    /// failure is reported as invalid input rather than a panic.
    pub(crate) fn json<B: serde::Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid("body", format!("could not be encoded as JSON: {e}")))?;
        self.body = Body::Json(Bytes::from(bytes));
        Ok(self)
    }

    /// Adds a header (e.g. `Range`).
    pub(crate) fn header(mut self, name: reqwest::header::HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Marks a request that is safe to repeat even though its method is POST (stop, share).
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Names the call (`create job`) for the error of an unknown outcome.
    pub(crate) fn operation(mut self, name: &'static str) -> Self {
        self.operation = Some(name);
        self
    }

    /// The job the call is about, so that an unknown outcome can say which job to check.
    pub(crate) fn job(mut self, id: &str) -> Self {
        self.job_id = Some(JobId::new(id));
        self
    }

    /// The call's name: the one given, or else `POST files/contents/`, from `call_path`
    /// (the URL's path relative to the base URL, as errors name a call).
    pub(super) fn operation_name(&self, call_path: &str) -> String {
        match self.operation {
            Some(name) => name.to_owned(),
            None => format!("{} {call_path}", self.method),
        }
    }
}

/// The body of a request that has one (a JSON document, or the upload's form made for
/// this hop), attached.
#[cold]
pub(super) fn attach_body(
    builder: reqwest::RequestBuilder,
    body: &Body,
    form: Option<reqwest::multipart::Form>,
) -> reqwest::RequestBuilder {
    match (body, form) {
        (_, Some(form)) => builder.multipart(form),
        (Body::Json(bytes), None) => builder
            .header(CONTENT_TYPE, "application/json")
            .body(bytes.clone()),
        // An upload's form is made for each hop by `body_for_hop`.
        (Body::Multipart(_) | Body::Empty, None) => builder,
    }
}

/// The upload form for the next hop of a redirect that keeps the body (`keep`), made
/// again from its source; `None` for a body that is not an upload. An upload from a reader
/// cannot be made twice: the `Err` is the note that ends the call with the redirect's
/// answer, before anything more is sent.
#[cold]
pub(super) fn body_for_hop(
    body: &Body,
    keep: bool,
    activity: Option<&Activity>,
) -> std::result::Result<Option<reqwest::multipart::Form>, String> {
    match (body, activity) {
        (Body::Multipart(make), Some(activity)) if keep => {
            make(activity).map(Some).ok_or_else(|| {
                "the redirect asks for the upload again, and its body (read from a reader) \
             cannot be sent twice"
                    .to_owned()
            })
        }
        _ => Ok(None),
    }
}

//! The one place a request is sent: auth, User-Agent, throttling, timeouts, retries,
//! error mapping and decoding.
//!
//! Resource modules describe a request as an [`ApiRequest`] (method, URL, body, whether it
//! may be repeated) and hand it here; nothing else in the crate talks to reqwest.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

mod body;
mod redirect;
mod request;
mod timeouts;

use body::{decode, parse_retry_after};

pub(crate) use request::{ApiRequest, Body, FormFactory};
pub(crate) use timeouts::Activity;
use timeouts::{attempt_timed_out, until_idle};

use crate::error::{ApiError, Error, Redactor, Result, host_of};
use crate::retry::{Idempotency, Next, RetryPolicy, next_step};
use crate::throttle::{Scope, Throttle};

/// The User-Agent every request carries.
pub(crate) const CRATE_USER_AGENT: &str = concat!("rescale-rs/", env!("CARGO_PKG_VERSION"));
/// Largest JSON body the client reads into memory before giving up.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How long one attempt may take, up to the end of its headers (or its body, for JSON).
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a connection may take.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a body may go without a single byte arriving.
pub(crate) const DEFAULT_READ_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The per-handle part of how the transport behaves: set on the
/// [`ClientBuilder`](crate::ClientBuilder), and overridden for one handle with
/// [`Client::with_retry`](crate::Client::with_retry) and its siblings.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) retry: RetryPolicy,
    /// Per attempt: up to the headers for `send`, headers and body for `json`/`empty`.
    pub(crate) attempt_timeout: Duration,
    /// The whole operation, retries and waits included.
    pub(crate) operation_timeout: Option<Duration>,
    /// A streamed body (a download) with no byte for this long is cut.
    pub(crate) read_idle_timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

impl Settings {
    /// Refuses a zero timeout, naming it: the builder checks its own, and this catches one
    /// given to an override, before any request is sent.
    pub(crate) fn check(&self) -> Result<()> {
        for (name, value) in [
            ("attempt_timeout", Some(self.attempt_timeout)),
            ("operation_timeout", self.operation_timeout),
            ("read_idle_timeout", Some(self.read_idle_timeout)),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(Error::Config(format!(
                    "the {name} must be longer than zero"
                )));
            }
        }
        Ok(())
    }
}

/// What every handle made from one built client shares: the connection pool, the origin
/// and its key, and the throttle (with its store).
struct Shared {
    http: reqwest::Client,
    base_url: Url,
    /// `Token <key>` or `Bearer <key>`, made once and marked sensitive (never printed).
    /// Unlike the `SecretString` it is made from, it is not wiped from memory when
    /// dropped; each request held such a copy before it was kept here.
    authorization: HeaderValue,
    /// Takes the key out of the server's text before it reaches an error or a log.
    redactor: Redactor,
    throttle: Throttle,
}

/// Sends requests for one [`Client`](crate::Client) and all its clones. Handles with
/// overridden settings hold a transport of their own around the same [`Shared`] part.
pub(crate) struct Transport {
    shared: Arc<Shared>,
    settings: Settings,
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        base_url: Url,
        authorization: SecretString,
        throttle: Throttle,
        settings: Settings,
    ) -> Result<Self> {
        let secret = authorization.expose_secret();
        // `Token <key>` or `Bearer <key>`: the key is what follows the scheme.
        let redactor = match secret.split_once(' ') {
            Some((_, key)) => Redactor::new(key),
            None => Redactor::new(secret),
        };
        let mut header = HeaderValue::from_str(secret)
            .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
        header.set_sensitive(true);
        Ok(Transport {
            shared: Arc::new(Shared {
                http,
                base_url,
                authorization: header,
                redactor,
                throttle,
            }),
            settings,
        })
    }

    /// A transport sharing this one's pool, key and throttle, with its settings changed
    /// by `change`.
    pub(crate) fn with_settings(&self, change: impl FnOnce(&mut Settings)) -> Transport {
        let mut settings = self.settings.clone();
        change(&mut settings);
        Transport {
            shared: Arc::clone(&self.shared),
            settings,
        }
    }

    /// This handle's settings.
    #[cfg(test)]
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `true` when both transports send through one pool, key and throttle.
    #[cfg(test)]
    pub(crate) fn shares_with(&self, other: &Transport) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// `text` (from the server) with the API key taken out, as it may go into a log.
    pub(crate) fn redact_text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.shared.redactor.text(text)
    }

    /// `err` with the API key taken out of every text it carries, and then the server's
    /// text it quotes cut to length (for errors made outside the transport from what the
    /// server sent, such as a download's headers, as well as the transport's own).
    pub(crate) fn redact(&self, err: Error) -> Error {
        // The key out first, then the quoted text cut: never the other way round.
        self.shared.redactor.error(err).cut_quoted_text()
    }

    /// The path of `url` relative to the base URL (`jobs/LeeKa/`), as errors name a call;
    /// the whole path when it lies elsewhere.
    fn call_path<'a>(&self, url: &'a Url) -> &'a str {
        url.path()
            .strip_prefix(self.shared.base_url.path())
            .unwrap_or(url.path())
    }

    /// An error of the call `method url`, as the caller gets it: an [`Error::Decode`] that
    /// does not name its call yet names it (`GET jobs/LeeKa/`, as [`ApiError`] names a
    /// call), and the API key is taken out of every text.
    pub(crate) fn call_error(&self, err: Error, method: &reqwest::Method, url: &Url) -> Error {
        let err = err.naming_call(|| format!("{method} {}", self.call_path(url)));
        self.redact(err)
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    /// The URL of an endpoint: each segment pushed onto the base URL as one escaped path
    /// segment, and the trailing slash every Rescale path ends with.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.shared.base_url.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("the base URL was checked to be an http(s) URL, which has a path");
            path.pop_if_empty();
            path.extend(segments);
            path.push("");
        }
        url
    }

    /// `true` when `url` has the scheme, host and port of the base URL: the only origin
    /// the key may be sent to.
    pub(crate) fn is_same_origin(&self, url: &Url) -> bool {
        redirect::same_origin(url, &self.shared.base_url)
    }

    /// Sends the request; a 2xx answer is returned with its body unread, anything else
    /// becomes an [`Error`]. Throttled and retried here; the per-attempt timeout ends with
    /// the headers, and the body is then governed by the read-idle timeout only.
    pub(crate) async fn send(&self, req: ApiRequest) -> Result<reqwest::Response> {
        self.call(req, |response| async move { Ok(response) }).await
    }

    /// Sends the request and decodes its JSON answer; the per-attempt timeout covers the
    /// body too, and a body cut short is retried like a failed attempt.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: ApiRequest) -> Result<T> {
        // Decoded into a box: a model (a `Job` is near 1 KB) then travels up through the
        // layers of the call as a pointer, and is moved once, here.
        let boxed = self
            .call(req, |response| async move {
                let status = response.status();
                let body = self.read_body(response).await?;
                decode::<Box<T>>(status, &body, &self.shared.redactor)
            })
            .await?;
        Ok(*boxed)
    }

    /// Sends the request and discards whatever 2xx body comes back.
    pub(crate) async fn empty(&self, req: ApiRequest) -> Result<()> {
        self.call(req, |response| async move {
            self.read_body(response).await.map(drop)
        })
        .await
    }

    /// One call: a span, the deadline, and the attempts.
    async fn call<T, F, Fut>(&self, req: ApiRequest, read: F) -> Result<T>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let span = tracing::debug_span!(
            "rescale.request",
            method = %req.method,
            // The path of a `next` link or a redirect is the server's text.
            path = %self.redact_text(req.url.path()),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            waited_ms = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let call = std::pin::pin!(async {
            self.settings.check()?;
            let started = Instant::now();
            let progress = Progress::default();
            // Pinned here and awaited through a reference in either branch: the call's
            // future holds the attempts once, with no adapter polled around them.
            let mut attempts =
                std::pin::pin!(self.attempts(&req, &read, started, &progress, &span));
            let result = match self.settings.operation_timeout {
                None => attempts.as_mut().await,
                Some(limit) => match tokio::time::timeout(limit, attempts.as_mut()).await {
                    Ok(result) => result,
                    Err(_) => Err(self.operation_timed_out(&req, &progress, limit)),
                },
            };
            if !span.is_disabled() {
                span.record("attempts", progress.attempts.load(Ordering::Relaxed));
                span.record("waited_ms", progress.waited_ms.load(Ordering::Relaxed));
                span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            }
            if let Err(e) = &result {
                if let Some(s) = e.status() {
                    span.record("status", s.as_u16());
                }
                tracing::debug!(error = %e, "request failed");
            }
            result
        });
        // Entering a span no subscriber wants costs every poll of every call. Its fields are
        // recorded through its handle (never into the caller's span), and entering a
        // disabled span does not change the current one, so events keep their parent; only
        // tracing's `log` mirror of span enters and exits is skipped.
        if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        }
    }

    /// The attempts of one call, with throttling before each and backoff between them.
    async fn attempts<T, F, Fut>(
        &self,
        req: &ApiRequest,
        read: &F,
        started: Instant,
        progress: &Progress,
        span: &tracing::Span,
    ) -> Result<T>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let policy = &self.settings.retry;
        let scope = Scope::of(&req.method, &req.url, &self.shared.base_url);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let throttle = &self.shared.throttle;
            let waited = if throttle.try_acquire_now(scope) {
                Duration::ZERO
            } else {
                // Boxed: waiting (or asking a shared store) is the rarer case, and its state
                // would otherwise widen the future of every call.
                Box::pin(throttle.acquire(scope, policy.retry_after_cap()))
                    .await
                    .map_err(|retry_after| Error::Throttled {
                        scope: scope.name().to_owned(),
                        retry_after,
                    })?
            };
            progress.waited(waited);
            // A multipart body that cannot be made again ends the retries with the last error.
            // An upload's form, made anew for each attempt, reports its progress to the
            // attempt's activity (see `until_idle`).
            let (form, activity) = match &req.body {
                Body::Multipart(make) => {
                    let activity = Activity::new();
                    let form = match (make(&activity), attempt) {
                        (Some(form), _) => form,
                        (None, 1) => {
                            return Err(Error::invalid(
                                "body",
                                "the upload body was consumed and cannot be sent again",
                            ));
                        }
                        (None, _) => return Err(progress.take_last_error()),
                    };
                    (Some(form), Some(activity))
                }
                _ => (None, None),
            };
            progress.attempts.store(attempt, Ordering::Relaxed);
            progress.in_flight.store(true, Ordering::Relaxed);
            // Boxed: the attempt (its request, then its read) is most of a call's state. A
            // pointer to it keeps the futures above it small, and at under 1 KB it takes
            // the allocator's fast path (the whole call, at 2 KB, did not).
            let this_attempt = Box::pin(async {
                let response = self.send_once(req, form, activity.as_ref()).await?;
                span.record("status", response.status().as_u16());
                read(response).await
            });
            let limit = self.settings.attempt_timeout;
            let outcome = until_idle(limit, activity.as_ref(), this_attempt)
                .await
                .unwrap_or_else(|| Err(attempt_timed_out(limit, activity.is_some(), attempt)));
            progress.in_flight.store(false, Ordering::Relaxed);
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => self.call_error(err, &req.method, &req.url),
            };
            // A 429 holds back every call of its scope, retried or not: for as long as its
            // `Retry-After` asks, or without one (its form is undocumented, and so is
            // whether it comes), for this attempt's longest backoff, within what a call
            // may wait (a longer pause of the client's own would fail every call at once).
            if err.status() == Some(StatusCode::TOO_MANY_REQUESTS) {
                let backoff = policy.ceiling(attempt).min(policy.retry_after_cap());
                let wait = err.retry_after().unwrap_or(backoff);
                self.shared.throttle.pause(scope, wait).await;
            }
            let (wait, err) = self.retry_wait(req, err, attempt, started)?;
            progress.set_last_error(err);
            tokio::time::sleep(wait).await;
            progress.waited(wait);
        }
    }

    /// After a failed attempt: how long to wait before the next one (with the error, kept
    /// in case there is none), or the error the call ends with. Off the path of a call that
    /// succeeds, as is every `#[cold]` function here: that path's code stays compact.
    #[cold]
    fn retry_wait(
        &self,
        req: &ApiRequest,
        err: Error,
        attempt: u32,
        started: Instant,
    ) -> Result<(Duration, Error)> {
        let policy = &self.settings.retry;
        let retry_after = match next_step(&err, req.idempotency) {
            Next::Retry(retry_after) if attempt <= policy.retries() => retry_after,
            Next::Unknown => return Err(self.outcome_unknown(req, err)),
            Next::Retry(_) | Next::Stop => return Err(err),
        };
        let Some(wait) = policy.wait_before(attempt, retry_after) else {
            return Err(err);
        };
        // Waiting would only end in the deadline's timeout; the real cause says more.
        if let Some(limit) = self.settings.operation_timeout
            && started.elapsed() + wait >= limit
        {
            return Err(err);
        }
        tracing::debug!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            error = %err,
            "retrying"
        );
        Ok((wait, err))
    }

    /// One attempt up to the response headers, following redirects; a non-2xx answer
    /// becomes an error that names the call.
    ///
    /// The key goes with each hop of a redirect chain until the chain first leaves the
    /// configured origin, and never after: B → B, B → A → B and the like carry no key
    /// beyond the first hop away.
    async fn send_once(
        &self,
        req: &ApiRequest,
        mut form: Option<reqwest::multipart::Form>,
        activity: Option<&Activity>,
    ) -> Result<reqwest::Response> {
        if !self.is_same_origin(&req.url) {
            // Resource modules only build URLs from the base; this guards the invariant.
            return Err(self.foreign_origin(&req.url));
        }
        let mut method = req.method.clone();
        let mut url = req.url.clone();
        let mut with_body = true;
        let mut on_origin = true;
        let mut hops = 0;
        loop {
            // The first hop is the request's own URL, checked above.
            on_origin = on_origin && (hops == 0 || self.is_same_origin(&url));
            let mut builder = self
                .shared
                .http
                .request(method.clone(), url.clone())
                .header(USER_AGENT, HeaderValue::from_static(CRATE_USER_AGENT));
            if !req.headers.is_empty() {
                builder = builder.headers(req.headers.clone());
            }
            if on_origin {
                builder = builder.header(AUTHORIZATION, self.shared.authorization.clone());
            }
            if with_body && (form.is_some() || !matches!(req.body, Body::Empty)) {
                builder = request::attach_body(builder, &req.body, form.take());
            }
            let response = builder.send().await.map_err(map_reqwest)?;
            redirect::refuse_followed(&response, &url)?;
            if response.status().is_success() {
                return Ok(response);
            }
            let note = match redirect::follow(&response, &method, &url, &mut hops) {
                Ok(hop) => {
                    match request::body_for_hop(&req.body, with_body && hop.keep_body, activity) {
                        Ok(next) => {
                            tracing::debug!(
                                status = response.status().as_u16(),
                                // The `Location` is the server's text.
                                to = %self.redact_text(&format!(
                                    "{}{}",
                                    hop.url.origin().ascii_serialization(),
                                    hop.url.path()
                                )),
                                "following a redirect"
                            );
                            form = next;
                            method = hop.method;
                            url = hop.url;
                            with_body &= hop.keep_body;
                            continue;
                        }
                        // The redirect is the answer: nothing was stored, and it says why.
                        Err(note) => Some(note),
                    }
                }
                Err(note) => note,
            };
            // Boxed: an error's body reading would otherwise widen every call's future.
            return Err(Box::pin(self.answer_error(req, &url, on_origin, response, note)).await);
        }
    }

    /// The error of a call cut by its operation timeout: an unknown outcome when a request
    /// that must not be repeated may have arrived.
    #[cold]
    fn operation_timed_out(&self, req: &ApiRequest, progress: &Progress, limit: Duration) -> Error {
        let err = Error::Timeout(format!(
            "the call did not finish within its operation timeout (the deadline of the whole \
             call, retries included) of {limit:?}"
        ));
        let in_flight = progress.in_flight.load(Ordering::Relaxed);
        if in_flight && req.idempotency == Idempotency::NotIdempotent {
            self.outcome_unknown(req, err)
        } else {
            err
        }
    }

    /// The error of a call that must not be repeated and may have taken effect, named by
    /// its operation (or its path relative to the base URL, as errors name a call).
    #[cold]
    fn outcome_unknown(&self, req: &ApiRequest, err: Error) -> Error {
        Error::OutcomeUnknown {
            operation: req.operation_name(self.call_path(&req.url)),
            job_id: req.job_id.clone(),
            source: Box::new(err),
        }
    }

    /// The refusal to send a request outside the configured origin.
    #[cold]
    fn foreign_origin(&self, url: &Url) -> Error {
        Error::Config(format!(
            "refusing to send the API key to {}, which is not the configured origin {}",
            url.origin().ascii_serialization(),
            self.shared.base_url.origin().ascii_serialization()
        ))
    }

    /// The error for a non-2xx answer to `req` (received from `url`), naming the call.
    async fn answer_error(
        &self,
        req: &ApiRequest,
        url: &Url,
        key_sent: bool,
        response: reqwest::Response,
        note: Option<String>,
    ) -> Error {
        let status = response.status();
        let retry_after = parse_retry_after(response.headers().get(RETRY_AFTER));
        let body = self.read_body(response).await.unwrap_or_default();
        let mut api = ApiError::from_response(status, &body, retry_after, &self.shared.redactor)
            .on_call(
                &req.method,
                self.call_path(&req.url),
                &host_of(url),
                key_sent,
            );
        if let Some(note) = note {
            api.message = note;
        }
        Error::Api(Box::new(api))
    }
}

/// What one call has done so far, readable after a deadline cut it short.
#[derive(Default)]
struct Progress {
    attempts: AtomicU32,
    waited_ms: std::sync::atomic::AtomicU64,
    /// An attempt is under way: if it is cut short, its request may have arrived.
    in_flight: AtomicBool,
    last_error: std::sync::Mutex<Option<Error>>,
}

impl Progress {
    fn waited(&self, wait: Duration) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.waited_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn set_last_error(&self, err: Error) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
    }

    fn take_last_error(&self) -> Error {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| Error::invalid("body", "the upload body cannot be sent again"))
    }
}

fn map_reqwest(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        let host = e.url().map_or_else(|| "the service".to_owned(), host_of);
        Error::Timeout(format!("no answer in time from {host}"))
    } else {
        Error::transport(e)
    }
}

#[cfg(test)]
mod tests;

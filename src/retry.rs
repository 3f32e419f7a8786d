//! [`RetryPolicy`]: how often, and after how long, a failed attempt is made again.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::Error;

/// How the client retries a call that failed for a passing reason: a refused connection,
/// throttling (429), or a gateway or availability error (502, 503, 504).
///
/// Waits grow exponentially from [`base_delay`](RetryPolicy::base_delay) up to
/// [`max_delay`](RetryPolicy::max_delay), with full jitter (a random wait between zero and
/// the exponential value), so that many clients do not retry in step. A `Retry-After` sent
/// by the service is honoured when it is no longer than
/// [`max_retry_after`](RetryPolicy::max_retry_after); a longer one ends the retries and the
/// error carries the wait ([`Error::retry_after`](crate::Error::retry_after)).
///
/// Creating and submitting a job are never retried once the request may have reached the
/// service; see [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
///
/// ```
/// use std::time::Duration;
/// use rescale::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .base_delay(Duration::from_millis(500))
///     .max_delay(Duration::from_secs(60));
/// let client = rescale::Client::builder().token("key").retry(patient).build()?;
/// let no_retries = rescale::Client::builder().token("key").retry(RetryPolicy::none()).build()?;
/// # Ok::<(), rescale::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 more tries after the first, waits from 200 ms up to 20 s, `Retry-After` honoured up
    /// to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is made once.
    pub fn none() -> Self {
        RetryPolicy::default().max_retries(0)
    }

    /// How many more tries after the first (default 3). `0` turns retries off.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The wait before the first retry, before jitter (default 200 ms); it doubles each time.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait between two tries, before jitter (default 20 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client waits out (default 60 s). A longer one ends the
    /// retries, and also the waits of calls that find their throttling scope paused.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    pub(crate) fn retries(&self) -> u32 {
        self.max_retries
    }

    pub(crate) fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// The wait before retry number `retry` (1 for the first): full jitter over
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// The longest wait before retry number `retry`: `min(max_delay, base_delay *
    /// 2^(retry-1))`.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait before the next try, given the service's `Retry-After`: at least the
    /// backoff, and at least what the service asked. `None` when the service asked for
    /// longer than the policy allows waiting.
    pub(crate) fn wait_before(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let backoff = self.backoff(retry);
        match retry_after {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// Whether sending a request twice can do something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, replacements, deletions and stop: the same effect however often sent.
    Idempotent,
    /// Create and submit: a second copy can start a second billed job.
    NotIdempotent,
}

/// What the retry loop makes of a failed attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again after the backoff, and at least the given `Retry-After`.
    Retry(Option<Duration>),
    /// Give up with this error.
    Stop,
    /// Give up: the request may have reached the service and must not be repeated.
    Unknown,
}

/// Decides whether a failed attempt is tried again. A request that must not be repeated
/// is retried only when the service surely did not act on it: a 429, or a connection that
/// failed before anything was sent.
pub(crate) fn next_step(err: &Error, idempotency: Idempotency) -> Next {
    let not_sent = matches!(err, Error::Transport { source, .. } if source.is_connect());
    let throttled = err.status() == Some(StatusCode::TOO_MANY_REQUESTS);
    if throttled || not_sent {
        return Next::Retry(err.retry_after());
    }
    // A request reqwest could not even build was never sent, and never will be.
    let network = match err {
        Error::Timeout(_) => true,
        Error::Transport { source, .. } => !source.is_builder(),
        _ => false,
    };
    let passing = match err {
        Error::Api(e) => matches!(e.status.as_u16(), 500 | 502 | 503 | 504),
        _ => network,
    };
    // A 2xx whose body could not be read or decoded did arrive, and was acted on.
    let may_have_arrived = match err {
        Error::Api(e) => e.status.is_server_error(),
        Error::Decode { status, .. } => status.is_success(),
        _ => network,
    };
    match idempotency {
        Idempotency::Idempotent if passing => Next::Retry(err.retry_after()),
        Idempotency::NotIdempotent if may_have_arrived => Next::Unknown,
        _ => Next::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError::from_response(
            StatusCode::from_u16(status).unwrap(),
            b"",
            None,
            &crate::error::Redactor::default(),
        )))
    }

    #[test]
    fn a_request_that_must_not_repeat_is_retried_only_when_surely_not_done() {
        use Idempotency::*;
        let timeout = || Error::Timeout("slow".into());
        assert_eq!(next_step(&api(429), NotIdempotent), Next::Retry(None));
        for status in [500, 502, 503, 504] {
            assert_eq!(next_step(&api(status), NotIdempotent), Next::Unknown);
            assert_eq!(next_step(&api(status), Idempotent), Next::Retry(None));
        }
        assert_eq!(next_step(&timeout(), NotIdempotent), Next::Unknown);
        assert_eq!(next_step(&timeout(), Idempotent), Next::Retry(None));
        for status in [400, 401, 403, 404, 409] {
            assert_eq!(next_step(&api(status), NotIdempotent), Next::Stop);
            assert_eq!(next_step(&api(status), Idempotent), Next::Stop);
        }
        assert_eq!(next_step(&Error::invalid("x", "y"), Idempotent), Next::Stop);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_is_jittered_below_it() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_millis(1000));
        assert_eq!(p.ceiling(100), Duration::from_millis(1000));
        for retry in 1..10 {
            assert!(p.backoff(retry) <= p.ceiling(retry));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(1))
            .max_delay(Duration::from_millis(1))
            .max_retry_after(Duration::from_secs(10));
        assert!(p.wait_before(1, Some(Duration::from_secs(3))).unwrap() >= Duration::from_secs(3));
        assert_eq!(p.wait_before(1, Some(Duration::from_secs(11))), None);
        assert!(p.wait_before(1, None).unwrap() <= Duration::from_millis(1));
    }

    #[test]
    fn none_makes_no_retries() {
        assert_eq!(RetryPolicy::none().retries(), 0);
        assert_eq!(RetryPolicy::default().retries(), 3);
    }
}

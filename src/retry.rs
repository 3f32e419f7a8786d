//! [`RetryPolicy`]: how often, and after how long, a failed attempt is made again.

use std::time::Duration;

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

    fn ceiling(&self, retry: u32) -> Duration {
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! Client-side throttling: one token bucket per Rescale throttling scope, shared by every
//! clone of a [`Client`](crate::Client), so that a busy program stays under the service's
//! hourly limits instead of being blocked by it.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use url::Url;

use crate::error::{Error, Result};

const HOUR: Duration = Duration::from_secs(3600);
/// The longest pause a `Retry-After` from the network can impose on a scope.
const MAX_PAUSE: Duration = Duration::from_secs(24 * 60 * 60);

/// At most `count` requests in any window of `period`.
///
/// A tenth of the allowance may go at once (a burst); the rest is spread evenly over the
/// period, so that no window of that length sees more than `count`.
///
/// ```
/// use std::time::Duration;
/// use rescale::RateLimit;
///
/// let hourly = RateLimit::per_hour(1000);
/// let brisk = RateLimit::new(10, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    count: u32,
    period: Duration,
}

impl RateLimit {
    /// At most `count` requests per hour.
    pub fn per_hour(count: u32) -> Self {
        RateLimit::new(count, HOUR)
    }

    /// At most `count` requests in any window of `period`. `count` and `period` must not be
    /// zero; [`ClientBuilder::build`](crate::ClientBuilder::build) says so otherwise.
    pub fn new(count: u32, period: Duration) -> Self {
        RateLimit { count, period }
    }

    /// The burst and refill that keep any window of `period` at or under `count`.
    fn quota(&self, scope: &str) -> Result<Quota> {
        let count = NonZeroU32::new(self.count).filter(|_| !self.period.is_zero());
        let count = count.ok_or_else(|| {
            Error::Config(format!(
                "the {scope} throttle must allow at least one request in a non-zero period; use ThrottleConfig::off() or None to lift it"
            ))
        })?;
        let burst = NonZeroU32::new(count.get() / 10).unwrap_or(NonZeroU32::MIN);
        let refills = (count.get() - burst.get()).max(1);
        let interval = (self.period / refills).max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .map(|q| q.allow_burst(burst))
            .ok_or_else(|| Error::Config(format!("the {scope} throttle has no period")))
    }
}

/// The client-side request limits, one per throttling scope of the service.
///
/// The defaults are Rescale's published per-user limits: job submission
/// (`POST jobs/{id}/submit/`) 1000 per hour, job reads (`GET jobs/...`) 90000 per hour,
/// everything else 7200 per hour. A call that must wait for its scope waits (and says so
/// in a `tracing` event) rather than failing. A 429 from the service pauses its scope for
/// the `Retry-After` it sent, whether or not limits are set.
///
/// ```
/// use rescale::{RateLimit, ThrottleConfig};
///
/// // Share the account with another tool: take half of each allowance.
/// let half = ThrottleConfig::default()
///     .submissions(RateLimit::per_hour(500))
///     .job_reads(RateLimit::per_hour(45_000))
///     .others(RateLimit::per_hour(3600));
/// let client = rescale::Client::builder().token("key").throttle(half).build()?;
///
/// // No client-side limits at all (the service's limits still apply).
/// let client = rescale::Client::builder().token("key").throttle(ThrottleConfig::off()).build()?;
/// # Ok::<(), rescale::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ThrottleConfig {
    submissions: Option<RateLimit>,
    job_reads: Option<RateLimit>,
    others: Option<RateLimit>,
}

impl Default for ThrottleConfig {
    /// Rescale's limits: 1000 submissions, 90000 job reads and 7200 other calls per hour.
    fn default() -> Self {
        ThrottleConfig {
            submissions: Some(RateLimit::per_hour(1000)),
            job_reads: Some(RateLimit::per_hour(90_000)),
            others: Some(RateLimit::per_hour(7200)),
        }
    }
}

impl ThrottleConfig {
    /// No client-side limits.
    pub fn off() -> Self {
        ThrottleConfig {
            submissions: None,
            job_reads: None,
            others: None,
        }
    }

    /// The limit of job submissions (`POST jobs/{id}/submit/`); `None` lifts it.
    pub fn submissions(mut self, limit: impl Into<Option<RateLimit>>) -> Self {
        self.submissions = limit.into();
        self
    }

    /// The limit of job reads (every `GET` under `jobs/`); `None` lifts it.
    pub fn job_reads(mut self, limit: impl Into<Option<RateLimit>>) -> Self {
        self.job_reads = limit.into();
        self
    }

    /// The limit of every other call; `None` lifts it.
    pub fn others(mut self, limit: impl Into<Option<RateLimit>>) -> Self {
        self.others = limit.into();
        self
    }
}

/// A throttling scope of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Submission,
    JobReads,
    Other,
}

impl Scope {
    /// The scope of a request to `url`, an endpoint under `base`.
    pub(crate) fn of(method: &Method, url: &Url, base: &Url) -> Scope {
        let rest = url.path().strip_prefix(base.path()).unwrap_or(url.path());
        let mut parts = rest.split('/').filter(|s| !s.is_empty());
        let head = [parts.next(), parts.next(), parts.next(), parts.next()];
        match (method, head) {
            (&Method::POST, [Some("jobs"), Some(_), Some("submit"), None]) => Scope::Submission,
            (&Method::GET, [Some("jobs"), ..]) => Scope::JobReads,
            _ => Scope::Other,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Submission => "job submission",
            Scope::JobReads => "job reads",
            Scope::Other => "other calls",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One scope's bucket, and the time until which a 429 paused it.
struct ScopeState {
    limiter: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

/// The throttling state of one client and all its clones.
pub(crate) struct Throttle {
    scopes: [ScopeState; 3],
}

impl Throttle {
    pub(crate) fn new(config: &ThrottleConfig) -> Result<Self> {
        let state = |limit: Option<RateLimit>, scope: Scope| -> Result<ScopeState> {
            Ok(ScopeState {
                limiter: limit
                    .map(|l| l.quota(scope.name()).map(RateLimiter::direct))
                    .transpose()?,
                paused_until: Mutex::new(None),
            })
        };
        Ok(Throttle {
            scopes: [
                state(config.submissions, Scope::Submission)?,
                state(config.job_reads, Scope::JobReads)?,
                state(config.others, Scope::Other)?,
            ],
        })
    }

    fn paused_until(&self, scope: Scope) -> Option<Instant> {
        let guard = self.scopes[scope.index()].paused_until.lock();
        // A poisoned lock only means another call panicked; the instant inside is still valid.
        *guard.unwrap_or_else(|p| p.into_inner())
    }

    /// Pauses `scope` for `wait` from now (a 429's `Retry-After`); never shortens a pause.
    pub(crate) fn pause(&self, scope: Scope, wait: Duration) {
        // `Retry-After` comes from the network: a day at most, and never an overflow.
        let Some(until) = Instant::now().checked_add(wait.min(MAX_PAUSE)) else {
            return;
        };
        let mut guard = self.scopes[scope.index()]
            .paused_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }

    /// Waits until `scope` may send one request, and returns how long that took. A pause
    /// longer than `max_pause` is not waited out: its remaining time is the `Err`.
    pub(crate) async fn acquire(
        &self,
        scope: Scope,
        max_pause: Duration,
    ) -> std::result::Result<Duration, Duration> {
        let mut waited = Duration::ZERO;
        loop {
            let now = Instant::now();
            if let Some(until) = self.paused_until(scope).filter(|u| *u > now) {
                let remaining = until - now;
                if remaining > max_pause {
                    return Err(remaining);
                }
                tracing::info!(
                    scope = scope.name(),
                    wait_ms = remaining.as_millis() as u64,
                    "waiting: the service throttled this scope (429)"
                );
                tokio::time::sleep(remaining).await;
                waited += remaining;
                continue;
            }
            let Some(limiter) = &self.scopes[scope.index()].limiter else {
                return Ok(waited);
            };
            match limiter.check() {
                Ok(()) => return Ok(waited),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(limiter.clock().now());
                    tracing::debug!(
                        scope = scope.name(),
                        wait_ms = wait.as_millis() as u64,
                        "waiting for the client-side rate limit"
                    );
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_rescales_table() {
        let base = Url::parse("https://platform.rescale.com/api/v2/").unwrap();
        let at = |p: &str| base.join(p).unwrap();
        assert_eq!(
            Scope::of(&Method::POST, &at("jobs/abc/submit/"), &base),
            Scope::Submission
        );
        assert_eq!(
            Scope::of(&Method::GET, &at("jobs/"), &base),
            Scope::JobReads
        );
        assert_eq!(
            Scope::of(&Method::GET, &at("jobs/abc/statuses/"), &base),
            Scope::JobReads
        );
        assert_eq!(Scope::of(&Method::POST, &at("jobs/"), &base), Scope::Other);
        assert_eq!(
            Scope::of(&Method::POST, &at("jobs/abc/stop/"), &base),
            Scope::Other
        );
        assert_eq!(
            Scope::of(&Method::GET, &at("files/x/"), &base),
            Scope::Other
        );
    }

    #[test]
    fn bursts_stay_under_the_hourly_limit() {
        let quota = RateLimit::per_hour(1000).quota("test").unwrap();
        let burst = quota.burst_size().get();
        let refilled_in_an_hour = HOUR.as_nanos() / quota.replenish_interval().as_nanos();
        assert_eq!(burst, 100);
        assert!(u128::from(burst) + refilled_in_an_hour <= 1000);
        assert!(RateLimit::per_hour(0).quota("test").is_err());
        assert!(RateLimit::new(5, Duration::ZERO).quota("test").is_err());
    }

    #[tokio::test]
    async fn a_pause_longer_than_allowed_is_refused() {
        let t = Throttle::new(&ThrottleConfig::off()).unwrap();
        assert_eq!(
            t.acquire(Scope::Other, Duration::ZERO).await,
            Ok(Duration::ZERO)
        );
        t.pause(Scope::Other, Duration::from_secs(30));
        let left = t
            .acquire(Scope::Other, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(left > Duration::from_secs(25));
        // Other scopes are not paused.
        assert_eq!(
            t.acquire(Scope::JobReads, Duration::ZERO).await,
            Ok(Duration::ZERO)
        );
    }
}

//! Client-side throttling: one budget per Rescale throttling scope, shared by every clone of
//! a [`Client`](crate::Client) (and, through a shared [`ThrottleStore`], by every process
//! and machine that uses the same store), so that a busy program stays under the service's
//! hourly limits instead of being blocked by it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use url::Url;

use crate::error::{Error, Result};

mod store;

pub use store::{Admission, InProcessStore, StoreError, ThrottleStore};

/// A client-side wait this long or longer is logged at `info` (shorter ones at `debug`).
const NOTICEABLE_WAIT: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
/// The longest pause a `Retry-After` from the network can impose on a scope.
const MAX_PAUSE: Duration = Duration::from_secs(24 * 60 * 60);
/// The first wait before asking a failing store again; it doubles up to 64 times this.
const STORE_RETRY_BASE: Duration = Duration::from_millis(50);

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
    pub const fn per_hour(count: u32) -> Self {
        RateLimit::new(count, HOUR)
    }

    /// At most `count` requests in any window of `period`. `count` and `period` must not be
    /// zero; [`ClientBuilder::build`](crate::ClientBuilder::build) says so otherwise.
    pub const fn new(count: u32, period: Duration) -> Self {
        RateLimit { count, period }
    }

    /// The most requests in any window of [`period`](RateLimit::period).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The length of the window.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How many requests may go at once: a tenth of the count, at least one.
    pub fn burst(&self) -> u32 {
        (self.count / 10).max(1)
    }

    /// The time between two requests once the burst is spent: the period shared evenly by
    /// the requests left after the burst (rounded up to whole nanoseconds).
    pub fn interval(&self) -> Duration {
        let refills = u128::from(self.count.saturating_sub(self.burst()).max(1));
        let nanos = self.period.as_nanos().div_ceil(refills).max(1);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// One step of the generic cell rate algorithm (GCRA) that enforces this limit on a
    /// state shared by many clients: `tat` is the stored theoretical arrival time (`None`
    /// when nothing is stored) and `now` the time, both in nanoseconds of one clock every
    /// client of the state reads. `Ok(tat)` admits one request and gives the time to store;
    /// `Err(wait)` says how long until one may go.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rescale::RateLimit;
    ///
    /// let limit = RateLimit::new(20, Duration::from_secs(10)); // burst 2, then one per 0.555... s
    /// let t1 = limit.gcra(None, 0).unwrap();
    /// let t2 = limit.gcra(Some(t1), 0).unwrap();
    /// let wait = limit.gcra(Some(t2), 0).unwrap_err();
    /// assert_eq!(wait, limit.interval());
    /// ```
    pub fn gcra(&self, tat: Option<u64>, now: u64) -> std::result::Result<u64, Duration> {
        let interval = u64::try_from(self.interval().as_nanos()).unwrap_or(u64::MAX);
        let tolerance = interval.saturating_mul(u64::from(self.burst() - 1));
        let tat = tat.unwrap_or(now).max(now);
        let earliest = tat.saturating_sub(tolerance);
        if now >= earliest {
            Ok(tat.saturating_add(interval))
        } else {
            Err(Duration::from_nanos(earliest - now))
        }
    }

    /// Refuses a limit that allows nothing, naming the scope.
    fn check(&self, scope: &str) -> Result<()> {
        if self.count == 0 || self.period.is_zero() {
            return Err(Error::Config(format!(
                "the {scope} throttle must allow at least one request in a non-zero period; use ThrottleConfig::off() or None to lift it"
            )));
        }
        Ok(())
    }
}

/// The client-side request limits, one per throttling scope of the service.
///
/// The defaults are Rescale's published per-user limits: job submission
/// (`POST jobs/{id}/submit/`) 1000 per hour, v2 job reads (`GET jobs/...` under
/// `/api/v2/`) 90000 per hour, everything else 7200 per hour (job reads through `/api/`
/// or `/api/v3/` included). The state of these budgets lives in a [`ThrottleStore`]: in
/// the client by default, or shared by many processes and machines
/// ([`ClientBuilder::throttle_store`](crate::ClientBuilder::throttle_store)). A call that must wait for its scope waits (and says so
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

    /// The limit of v2 job reads (every `GET` under `jobs/` of `/api/v2/`); `None` lifts it.
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

/// A throttling scope of the service: the calls that share one of Rescale's per-user limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleScope {
    /// Job submissions (`POST jobs/{id}/submit/`).
    Submission,
    /// Reads of the v2 job endpoints (`GET jobs/...` under `/api/v2/`).
    JobReads,
    /// Every other call.
    Other,
}

pub(crate) use ThrottleScope as Scope;

impl ThrottleScope {
    /// Every scope, in a fixed order.
    pub const ALL: [ThrottleScope; 3] = [
        ThrottleScope::Submission,
        ThrottleScope::JobReads,
        ThrottleScope::Other,
    ];

    /// The scope of a request to `url`, an endpoint under `base`. Only the v2 API has a
    /// job-read scope of its own: job reads under `/api/` (v1) or `/api/v3/` count with
    /// every other call, as Rescale's table says.
    pub(crate) fn of(method: &Method, url: &Url, base: &Url) -> Scope {
        let rest = url.path().strip_prefix(base.path()).unwrap_or(url.path());
        let mut parts = rest.split('/').filter(|s| !s.is_empty());
        let head = [parts.next(), parts.next(), parts.next(), parts.next()];
        let v2 = base.path().trim_end_matches('/').ends_with("/api/v2");
        match (method, head) {
            (&Method::POST, [Some("jobs"), Some(_), Some("submit"), None]) => Scope::Submission,
            (&Method::GET, [Some("jobs"), ..]) if v2 => Scope::JobReads,
            _ => Scope::Other,
        }
    }

    /// The scope's name in messages: `job submission`, `job reads`, `other calls`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Submission => "job submission",
            Scope::JobReads => "job reads",
            Scope::Other => "other calls",
        }
    }

    /// A short stable identifier for keys in a shared store: `submission`, `job_reads`,
    /// `other`.
    pub fn key(self) -> &'static str {
        match self {
            Scope::Submission => "submission",
            Scope::JobReads => "job_reads",
            Scope::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The throttling of one client and all its clones: the limits, and the store that keeps
/// their state (in this process unless the builder was given a shared one).
pub(crate) struct Throttle {
    limits: [Option<RateLimit>; 3],
    store: Store,
}

/// Where a throttle's state lives.
enum Store {
    /// The client's own, in this process: asked directly on the path every request takes,
    /// with no boxed future and nothing to await.
    Own(InProcessStore),
    /// One given by the caller (shared with other clients or processes): always asked
    /// through the [`ThrottleStore`] trait.
    Given(Arc<dyn ThrottleStore>),
}

impl Store {
    fn get(&self) -> &dyn ThrottleStore {
        match self {
            Store::Own(store) => store,
            Store::Given(store) => store.as_ref(),
        }
    }
}

impl Throttle {
    /// Throttling with an in-process store of its own.
    #[cfg(test)]
    pub(crate) fn new(config: &ThrottleConfig) -> Result<Self> {
        Self::with_store(config, None)
    }

    /// Throttling whose state lives in `store` (a fresh in-process one when `None`).
    pub(crate) fn with_store(
        config: &ThrottleConfig,
        store: Option<Arc<dyn ThrottleStore>>,
    ) -> Result<Self> {
        let limits = [config.submissions, config.job_reads, config.others];
        for (limit, scope) in limits.iter().zip(Scope::ALL) {
            if let Some(limit) = limit {
                limit.check(scope.name())?;
            }
        }
        let store = match store {
            Some(store) => Store::Given(store),
            None => Store::Own(InProcessStore::new()),
        };
        Ok(Throttle { limits, store })
    }

    /// Takes one request from `scope`'s budget when that needs neither a wait nor a
    /// round trip to a shared store: `true` when the client's own store granted it at once.
    /// On `false` nothing was taken, and [`acquire`](Throttle::acquire) decides.
    pub(crate) fn try_acquire_now(&self, scope: Scope) -> bool {
        match &self.store {
            Store::Own(store) => matches!(
                store.admit_now(scope, self.limits[scope.index()]),
                Ok(Admission::Granted)
            ),
            Store::Given(_) => false,
        }
    }

    /// Pauses `scope` for `wait` from now (a 429's `Retry-After`), for every client that
    /// shares the store; never shortens a pause.
    pub(crate) async fn pause(&self, scope: Scope, wait: Duration) {
        // `Retry-After` comes from the network: a day at most.
        if let Err(e) = self.store.get().pause(scope, wait.min(MAX_PAUSE)).await {
            tracing::warn!(scope = scope.name(), error = %e, "could not record a pause in the throttle store");
        }
    }

    /// Waits until `scope` may send one request, and returns how long that took. A pause
    /// longer than `max_pause` is not waited out: its remaining time is the `Err`.
    ///
    /// A store that cannot be reached is asked again after a growing wait: a budget that
    /// cannot be checked is not spent (the call's deadline, if any, ends the wait).
    pub(crate) async fn acquire(
        &self,
        scope: Scope,
        max_pause: Duration,
    ) -> std::result::Result<Duration, Duration> {
        let limit = self.limits[scope.index()];
        let mut waited = Duration::ZERO;
        let mut failures = 0u32;
        loop {
            let wait = match self.store.get().admit(scope, limit).await {
                Ok(Admission::Granted) => return Ok(waited),
                Ok(Admission::Paused(remaining)) => {
                    if remaining > max_pause {
                        return Err(remaining);
                    }
                    tracing::info!(
                        scope = scope.name(),
                        wait_ms = remaining.as_millis() as u64,
                        "waiting: the service throttled this scope (429)"
                    );
                    remaining
                }
                Ok(Admission::Wait(wait)) => {
                    // Short waits are routine; one a user would notice (the 101st
                    // submission of an hour waits 4 s) is said at `info`.
                    let wait_ms = wait.as_millis() as u64;
                    if wait >= NOTICEABLE_WAIT {
                        tracing::info!(
                            scope = scope.name(),
                            wait_ms,
                            "waiting for the client-side rate limit"
                        );
                    } else {
                        tracing::debug!(
                            scope = scope.name(),
                            wait_ms,
                            "waiting for the client-side rate limit"
                        );
                    }
                    wait
                }
                Err(e) => {
                    failures += 1;
                    let wait = STORE_RETRY_BASE * 2u32.pow(failures.min(6));
                    tracing::warn!(
                        scope = scope.name(),
                        error = %e,
                        wait_ms = wait.as_millis() as u64,
                        "the throttle store failed; asking again"
                    );
                    wait
                }
            };
            tokio::time::sleep(wait).await;
            waited += wait;
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
    fn job_reads_have_their_own_scope_only_in_v2() {
        for base in [
            "https://platform.rescale.com/api/v3/",
            "https://platform.rescale.com/api/",
        ] {
            let base = Url::parse(base).unwrap();
            let at = |p: &str| base.join(p).unwrap();
            for read in ["jobs/", "jobs/abc/", "jobs/abc/statuses/"] {
                assert_eq!(
                    Scope::of(&Method::GET, &at(read), &base),
                    Scope::Other,
                    "{base}{read}"
                );
            }
            assert_eq!(
                Scope::of(&Method::POST, &at("jobs/abc/submit/"), &base),
                Scope::Submission
            );
        }
        // A v2 base behind a path prefix of its own still counts as v2.
        let base = Url::parse("https://proxy.example.com/rescale/api/v2/").unwrap();
        assert_eq!(
            Scope::of(&Method::GET, &base.join("jobs/").unwrap(), &base),
            Scope::JobReads
        );
    }

    #[test]
    fn gcra_admits_the_burst_then_one_per_interval_and_never_more_than_count_per_period() {
        let limit = RateLimit::new(20, Duration::from_secs(2));
        assert_eq!(limit.burst(), 2);
        // The period shared by the 18 requests after the burst, rounded up.
        assert_eq!(
            limit.interval(),
            Duration::from_nanos(2_000_000_000u64.div_ceil(18))
        );
        // Greedy requests at every nanosecond they are allowed: no window of `period`
        // holds more than `count`.
        let mut tat = None;
        let mut now = 0u64;
        let mut sent = Vec::new();
        while sent.len() < 100 {
            match limit.gcra(tat, now) {
                Ok(t) => {
                    tat = Some(t);
                    sent.push(now);
                }
                Err(wait) => now += u64::try_from(wait.as_nanos()).unwrap(),
            }
        }
        assert_eq!(sent[..2], [0, 0]);
        let period = u64::try_from(limit.period().as_nanos()).unwrap();
        for (i, start) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|t| **t < start + period)
                .count();
            assert!(
                in_window <= 20,
                "{in_window} requests within a period from {start}"
            );
        }
        // A long idle time refills at most the burst.
        let later = now + 10 * period;
        let t1 = limit.gcra(tat, later).unwrap();
        let t2 = limit.gcra(Some(t1), later).unwrap();
        assert!(limit.gcra(Some(t2), later).is_err());
    }

    #[test]
    fn bursts_stay_under_the_hourly_limit() {
        let limit = RateLimit::per_hour(1000);
        let refilled_in_an_hour = HOUR.as_nanos() / limit.interval().as_nanos();
        assert_eq!(limit.burst(), 100);
        assert!(u128::from(limit.burst()) + refilled_in_an_hour <= 1000);
        assert!(RateLimit::per_hour(0).check("test").is_err());
        assert!(RateLimit::new(5, Duration::ZERO).check("test").is_err());
    }

    #[tokio::test]
    async fn the_clients_own_store_grants_at_once_and_takes_nothing_when_it_cannot() {
        let brisk = RateLimit::new(20, Duration::from_secs(3600)); // a burst of 2
        let t = Throttle::new(&ThrottleConfig::off().others(brisk)).unwrap();
        assert!(t.try_acquire_now(Scope::Other));
        assert!(t.try_acquire_now(Scope::Other));
        // The burst is spent: no grant now, and nothing taken by asking.
        assert!(!t.try_acquire_now(Scope::Other));
        assert!(!t.try_acquire_now(Scope::Other));
        assert!(t.try_acquire_now(Scope::JobReads), "no limit on this scope");
        // A pause holds back even a scope with no limit.
        t.pause(Scope::JobReads, Duration::from_secs(30)).await;
        assert!(!t.try_acquire_now(Scope::JobReads));
        // A store given by the caller is always asked through `acquire`.
        let shared: Arc<dyn ThrottleStore> = Arc::new(InProcessStore::new());
        let t = Throttle::with_store(&ThrottleConfig::off(), Some(shared)).unwrap();
        assert!(!t.try_acquire_now(Scope::Other));
        assert_eq!(
            t.acquire(Scope::Other, Duration::ZERO).await,
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn clients_with_different_limits_on_one_store_spend_one_budget() {
        // Bursts of 1 and 2, each followed by a wait of minutes: alternating between the
        // two limits must not give either a fresh budget.
        let (a, b) = (RateLimit::per_hour(10), RateLimit::per_hour(20));
        let store = InProcessStore::new();
        let granted = (0..20)
            .filter(|i| {
                let limit = if i % 2 == 0 { a } else { b };
                matches!(
                    store.admit_now(Scope::Other, Some(limit)),
                    Ok(Admission::Granted)
                )
            })
            .count();
        assert!(granted <= 2, "{granted} granted");
        assert!(matches!(
            store.admit_now(Scope::Other, Some(b)),
            Ok(Admission::Wait(wait)) if wait > Duration::from_secs(60)
        ));
        // Another scope has a budget of its own.
        assert!(matches!(
            store.admit_now(Scope::JobReads, Some(a)),
            Ok(Admission::Granted)
        ));
    }

    #[tokio::test]
    async fn a_pause_longer_than_allowed_is_refused() {
        let t = Throttle::new(&ThrottleConfig::off()).unwrap();
        assert_eq!(
            t.acquire(Scope::Other, Duration::ZERO).await,
            Ok(Duration::ZERO)
        );
        t.pause(Scope::Other, Duration::from_secs(30)).await;
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

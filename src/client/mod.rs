//! [`Client`], its [`ClientBuilder`], and the Rescale regions ([`Platform`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::Result;
use crate::jobs::Jobs;
use crate::retry::RetryPolicy;
use crate::transport::{Settings, Transport};

mod builder;

pub use builder::ClientBuilder;

/// Environment variable that holds the API key.
pub const ENV_API_KEY: &str = "RESCALE_API_KEY";
/// Environment variable that holds the base URL, e.g. `https://eu.rescale.com/api/v2/`.
pub const ENV_API_URL: &str = "RESCALE_API_URL";
/// Older name of [`ENV_API_URL`] that some tools use; read when the first is unset.
pub const ENV_BASE_URL: &str = "RESCALE_BASE_URL";

/// A Rescale region. Each has its own host, and a key issued on one is rejected by the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Platform {
    /// `platform.rescale.com`, the default.
    #[default]
    Us,
    /// `eu.rescale.com`.
    Eu,
    /// `kr.rescale.com`.
    Kr,
    /// `platform.rescale.jp`.
    Jp,
    /// `itar.rescale.com`.
    Itar,
    /// `itar.rescale-gov.com`.
    ItarGov,
}

impl Platform {
    /// The v2 API base URL of the region, with its trailing slash.
    pub fn base_url(self) -> &'static str {
        match self {
            Platform::Us => "https://platform.rescale.com/api/v2/",
            Platform::Eu => "https://eu.rescale.com/api/v2/",
            Platform::Kr => "https://kr.rescale.com/api/v2/",
            Platform::Jp => "https://platform.rescale.jp/api/v2/",
            Platform::Itar => "https://itar.rescale.com/api/v2/",
            Platform::ItarGov => "https://itar.rescale-gov.com/api/v2/",
        }
    }
}

/// The client of the Rescale API.
///
/// Cheap to clone (an `Arc` inside): clones share one connection pool and configuration.
/// `Send + Sync`, so one client can serve a whole service.
///
/// A handle with other retry or timeout settings comes from
/// [`with_retry`](Client::with_retry), [`with_attempt_timeout`](Client::with_attempt_timeout)
/// and [`with_operation_timeout`](Client::with_operation_timeout): it still shares the
/// pool, the throttle and the read cache, so the two together stay within one budget
/// (a second client built with other settings would throttle on its own).
///
/// ```no_run
/// # async fn demo() -> rescale::Result<()> {
/// let client = rescale::Client::from_env()?;
/// let job = client.jobs().get("LeeKa").await?;
/// println!("{} is {}", job.id, job.name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
    /// Account and catalogue reads, shared by every clone.
    pub(crate) cache: Arc<crate::cache::ReadCache>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base_url().as_str())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the key from `RESCALE_API_KEY`, the base
    /// URL from `RESCALE_API_URL` (or `RESCALE_BASE_URL`), the US platform otherwise.
    ///
    /// A missing key is an [`Error::Config`](crate::Error::Config) that names the variable.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The base URL every endpoint path is appended to, e.g. `https://platform.rescale.com/api/v2/`.
    pub fn base_url(&self) -> &Url {
        self.transport.base_url()
    }

    /// The job endpoints.
    pub fn jobs(&self) -> Jobs {
        Jobs::new(self.clone())
    }

    /// A handle on the same client whose calls are retried by `policy`, e.g.
    /// [`RetryPolicy::none`] for a call that must be tried once only. It shares this
    /// client's connection pool, throttle (and its store) and read cache; only the
    /// settings differ. The other settings are this handle's.
    ///
    /// ```no_run
    /// use rescale::RetryPolicy;
    ///
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let once_only = client.with_retry(RetryPolicy::none());
    /// let job = once_only.jobs().get("LeeKa").await?;
    /// # Ok(()) }
    /// ```
    pub fn with_retry(&self, policy: RetryPolicy) -> Client {
        self.with_settings(|s| s.retry = policy)
    }

    /// A handle on the same client whose attempts may each take `timeout` (see
    /// [`ClientBuilder::attempt_timeout`]); shares the pool, throttle and read cache like
    /// [`with_retry`](Client::with_retry). A zero timeout makes every call of the handle
    /// fail with [`Error::Config`](crate::Error::Config) before anything is sent.
    pub fn with_attempt_timeout(&self, timeout: Duration) -> Client {
        self.with_settings(|s| s.attempt_timeout = timeout)
    }

    /// A handle on the same client whose whole operations (throttling waits, every
    /// attempt and backoff) may take `timeout` (see [`ClientBuilder::operation_timeout`]);
    /// shares the pool, throttle and read cache like [`with_retry`](Client::with_retry).
    /// A zero timeout makes every call of the handle fail with
    /// [`Error::Config`](crate::Error::Config) before anything is sent.
    pub fn with_operation_timeout(&self, timeout: Duration) -> Client {
        self.with_settings(|s| s.operation_timeout = Some(timeout))
    }

    fn with_settings(&self, change: impl FnOnce(&mut Settings)) -> Client {
        Client {
            transport: Arc::new(self.transport.with_settings(change)),
            cache: Arc::clone(&self.cache),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_shares_the_transport_and_cache_but_not_the_settings() {
        let base = Client::builder().token("k").build().unwrap();
        let once = base
            .with_retry(RetryPolicy::none())
            .with_attempt_timeout(Duration::from_secs(5))
            .with_operation_timeout(Duration::from_secs(9));
        assert!(once.transport.shares_with(&base.transport));
        assert!(Arc::ptr_eq(&once.cache, &base.cache));
        assert_eq!(base.transport.settings().retry, RetryPolicy::default());
        assert_eq!(once.transport.settings().retry, RetryPolicy::none());
        assert_eq!(
            once.transport.settings().attempt_timeout,
            Duration::from_secs(5)
        );
        assert_eq!(
            once.transport.settings().operation_timeout,
            Some(Duration::from_secs(9))
        );
        assert_eq!(base.transport.settings().operation_timeout, None);
        let control = Client::builder().token("k").build().unwrap();
        assert!(!control.transport.shares_with(&base.transport));
    }
}

//! [`Client`], its [`ClientBuilder`], and the Rescale regions ([`Platform`]).

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::error::Result;
use crate::jobs::Jobs;
use crate::transport::Transport;

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
}

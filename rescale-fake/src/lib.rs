//! A stateful fake of the [Rescale](https://rescale.com) platform's REST API (`/api/v2/`),
//! served over HTTP on `127.0.0.1` for tests and examples: no account, no network.
//!
//! It keeps jobs, files, status histories and runs in memory, drives each submitted job
//! through the real life cycle on a clock, and offers knobs to inject faults (429, 503,
//! 504, dropped connections), add latency, and inspect every request it received.
//!
//! Endpoints (relative to `/api/v2/`, keys as counted by [`FakeRescale::request_count`]):
//! `GET jobs/`, `POST jobs/`, `GET|PUT|PATCH|DELETE jobs/{id}/`, `POST jobs/{id}/submit/`,
//! `POST jobs/{id}/stop/`, `POST jobs/{id}/share/`, `GET jobs/{id}/statuses/`,
//! `GET jobs/{id}/cluster_statuses/`, `GET jobs/{id}/files/`, `GET jobs/{id}/runs/`,
//! `GET jobs/{id}/runs/{run}/`, `GET jobs/{id}/runs/{run}/files/`, `GET files/`,
//! `POST files/contents/`, `GET|DELETE files/{id}/`, `GET files/{id}/contents/`,
//! `GET analyses/`, `GET coretypes/`.
//!
//! ```no_run
//! # async fn demo() {
//! use rescale_fake::{FakeRescale, Fault};
//!
//! let fake = FakeRescale::start().await;
//! let base = fake.base_url(); // "http://127.0.0.1:PORT/api/v2/"
//! let key = fake.api_key(); // send as "Authorization: Token <key>"
//! fake.seed_jobs(100);
//! fake.inject_fault(Fault::ServiceUnavailable, 1);
//! // ... point a client at `base` with `key` ...
//! assert_eq!(fake.request_count("GET jobs/"), 0);
//! # let _ = (base, key);
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod catalogue;
mod files;
mod jobs;
mod lifecycle;
mod page;
mod server;
mod state;
mod targeted;
mod util;
mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use state::{Shared, lock};
pub use targeted::{Aim, TimedRequest};

/// A running fake Rescale server. Dropping it stops the server.
///
/// ```no_run
/// # async fn demo() {
/// let fake = rescale_fake::FakeRescale::start().await;
/// println!("{} {}", fake.base_url(), fake.api_key());
/// # }
/// ```
pub struct FakeRescale {
    addr: SocketAddr,
    api_key: String,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

/// Settings of a [`FakeRescale`]; start from [`FakeConfig::default`].
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Time between two consecutive statuses of a submitted job (default 20 ms).
    pub step: Duration,
    /// Page size of a list when the request carries no `page_size` (default 10).
    pub default_page_size: usize,
    /// Largest page size honoured; larger requests are capped (default 1000).
    pub max_page_size: usize,
    /// Size in bytes of the large output file every completed job gets (default 3 MiB).
    pub large_output_size: usize,
    /// The API key the fake accepts; a random one when `None`.
    pub api_key: Option<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            step: Duration::from_millis(20),
            default_page_size: 10,
            max_page_size: 1000,
            large_output_size: 3 * 1024 * 1024,
            api_key: None,
        }
    }
}

/// A failure the fake answers with instead of the real response, see
/// [`FakeRescale::inject_fault`].
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 with `Retry-After: <retry_after_secs>` and DRF's throttling message.
    TooManyRequests {
        /// Seconds announced in the `Retry-After` header and in the message.
        retry_after_secs: u64,
    },
    /// 503 with an HTML body, as a proxy in front of the service answers.
    ServiceUnavailable,
    /// 504 with an HTML body (`text/html`), as a proxy in front of the service answers.
    GatewayTimeout,
    /// The connection is closed without any response: the client sees a transport error.
    DropConnection,
}

/// One request the fake received, as recorded by [`FakeRescale::requests`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"GET"`.
    pub method: String,
    /// The path as sent, e.g. `"/api/v2/jobs/aB3xY/"` (percent-encoding kept).
    pub path: String,
    /// The endpoint key, e.g. `"GET jobs/{id}/"`, as counted by [`FakeRescale::request_count`].
    pub endpoint: String,
    /// The query string as sent, without `?`.
    pub query: Option<String>,
    /// The status answered; `0` when the connection was dropped or no answer was sent yet.
    pub status: u16,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

impl FakeRescale {
    /// Starts a fake with [`FakeConfig::default`] on `127.0.0.1` and a free port.
    pub async fn start() -> FakeRescale {
        Self::start_with(FakeConfig::default()).await
    }

    /// Starts a fake with the given settings on `127.0.0.1` and a free port.
    ///
    /// # Panics
    /// If no local port can be bound.
    pub async fn start_with(config: FakeConfig) -> FakeRescale {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let api_key = config.api_key.clone().unwrap_or_else(util::random_key);
        let origin = format!("http://{addr}");
        let shared = Arc::new(Mutex::new(Shared::new(config, api_key.clone(), origin)));
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        FakeRescale {
            addr,
            api_key,
            shared,
            task,
        }
    }

    /// The base URL to point a client at, with the `/api/v2/` prefix and a trailing slash,
    /// e.g. `"http://127.0.0.1:41234/api/v2/"`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v2/", self.addr)
    }

    /// The API key the fake accepts (as `Token <key>` or `Bearer <key>`).
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// Adds `n` completed jobs at once (named `Seeded job N`), for listing at scale.
    ///
    /// Seeded jobs have status histories and a stopped cluster but no output files.
    pub fn seed_jobs(&self, n: usize) {
        lock(&self.shared).seed_jobs(n);
    }

    /// Makes the next `times` API requests, in arrival order, answer with `fault`.
    /// Faults queue up behind those injected earlier.
    pub fn inject_fault(&self, fault: Fault, times: usize) {
        lock(&self.shared).faults.push_back((fault, times));
    }

    /// Delays every response by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared).latency = latency;
    }

    /// How many requests reached an endpoint, by key: `"GET jobs/"`, `"POST jobs/"`,
    /// `"GET jobs/{id}/"`, `"POST jobs/{id}/submit/"`, `"GET jobs/{id}/statuses/"`,
    /// `"GET files/{id}/contents/"`, ... (faulted and rejected requests included).
    pub fn request_count(&self, endpoint: &str) -> usize {
        lock(&self.shared)
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// Stores a file as if it had been uploaded (type 1, input) and returns its id.
    pub fn add_file(&self, name: &str, contents: Vec<u8>) -> String {
        lock(&self.shared).add_upload(name, contents.into())
    }
}

impl Drop for FakeRescale {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeRescale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRescale")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

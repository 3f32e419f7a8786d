//! A stateful fake of the [Rescale](https://rescale.com) platform's REST API (`/api/v2/`),
//! served over HTTP on `127.0.0.1` for tests and examples: no account, no network.
//!
//! It keeps jobs, files, status histories and runs, drives each submitted job through the
//! real life cycle on a clock, and offers knobs to inject faults (429, 503, 504, dropped
//! connections), add latency (per response and per new connection), and inspect every
//! request it received. A state file ([`FakeConfig::state_path`]) carries jobs and files
//! across restarts; the `tls` feature serves HTTPS with a certificate made at start.
//!
//! The same fake runs as a server for people and other tools (feature `cli`, default):
//! `cargo run -p rescale-fake -- --port 8080 --seed 100 --state fake.json` prints the base
//! URL and the key, and serves until Ctrl-C (`--help` lists the flags).
//!
//! Endpoints (relative to `/api/v2/`, keys as counted by [`FakeRescale::request_count`]):
//! `GET jobs/`, `POST jobs/`, `GET|PUT|PATCH|DELETE jobs/{id}/`, `POST jobs/{id}/submit/`,
//! `POST jobs/{id}/stop/`, `POST jobs/{id}/share/`, `GET jobs/{id}/statuses/`,
//! `GET jobs/{id}/cluster_statuses/`, `GET jobs/{id}/files/`, `GET jobs/{id}/runs/`,
//! `GET jobs/{id}/runs/{run}/`, `GET jobs/{id}/runs/{run}/files/`, `GET files/`,
//! `POST files/contents/`, `GET|DELETE files/{id}/`, `GET files/{id}/contents/`,
//! `GET analyses/`, `GET coretypes/`; and beyond the jobs reference:
//! `GET jobs/{id}/runs/{run}/directory-contents/`, `GET jobs/{id}/runs/{run}/tail/{path}`,
//! `POST jobs/{id}/runs/{run}/stop/`, `POST jobs/{id}/runs/{run}/snapshot/`,
//! `POST jobs/{id}/storage-devices/`, `POST jobs/{id}/custom-fields/`,
//! `GET jobs/{id}/instances/`, `GET jobs/{id}/connection_details/`, `PATCH files/{id}/`,
//! `GET files/{id}/lines/`, `GET users/me/`, `GET users/me/projects/`,
//! `GET billing/computeprices/`. [`FakeRescale::start_solver`] starts a job whose run
//! writes its log line by line, to be read live.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod attachments;
mod catalogue;
mod files;
mod jobs;
mod library;
mod lifecycle;
mod page;
mod persist;
mod routes;
mod runs;
mod runs_live;
mod server;
mod state;
mod targeted;
mod tls;
mod util;
mod validate;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use runs_live::{LOG_PATH, SolverConfig};
use state::{Shared, lock};
pub use targeted::{Aim, TimedRequest};
use tokio::sync::watch;

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
    /// `"http"` or `"https"`.
    scheme: &'static str,
    api_key: String,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    /// The certificate served over HTTPS, as PEM.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    certificate_pem: Option<String>,
}

/// Settings of a [`FakeRescale`]; start from [`FakeConfig::default`].
///
/// ```
/// use std::time::Duration;
/// use rescale_fake::FakeConfig;
///
/// let config = FakeConfig {
///     step: Duration::from_millis(100),
///     output_files: 100,
///     ..FakeConfig::default()
/// };
/// # let _ = config;
/// ```
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
    /// How many output files a completed job gets (default 4): `stdout.txt`,
    /// `output/log.txt`, `results/data.bin` (the large one), `results/summary.csv`, then
    /// small `results/part_NNNN.txt` files; fewer than 4 keeps the first ones.
    pub output_files: usize,
    /// Delay before every response (default none); [`FakeRescale::set_latency`] changes it.
    pub latency: Duration,
    /// Delay before a new connection is served, on top of `latency` (default none), as a
    /// distant server costs a round trip or more to connect to;
    /// [`FakeRescale::set_connect_latency`] changes it.
    pub connect_latency: Duration,
    /// The API key the fake accepts; when `None`, the key saved in the state file, else a
    /// random one.
    pub api_key: Option<String>,
    /// The port to listen on, on `127.0.0.1`; `0` (the default) picks a free one.
    pub port: u16,
    /// A state file: read at start when it exists, and rewritten (atomically) after every
    /// change, so that jobs, files and statuses survive a restart. `None` (the default)
    /// keeps everything in memory only.
    pub state_path: Option<PathBuf>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            step: Duration::from_millis(20),
            default_page_size: 10,
            max_page_size: 1000,
            large_output_size: 3 * 1024 * 1024,
            output_files: 4,
            latency: Duration::ZERO,
            connect_latency: Duration::ZERO,
            api_key: None,
            port: 0,
            state_path: None,
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

    /// Starts a fake with the given settings on `127.0.0.1`.
    ///
    /// # Panics
    /// When [`try_start`](FakeRescale::try_start) fails: the port cannot be bound, or the
    /// state file cannot be read.
    pub async fn start_with(config: FakeConfig) -> FakeRescale {
        match Self::try_start(config).await {
            Ok(fake) => fake,
            Err(e) => panic!("rescale-fake could not start: {e}"),
        }
    }

    /// Starts a fake with the given settings on `127.0.0.1`, serving plain HTTP.
    ///
    /// # Errors
    /// When the port cannot be bound, or the state file exists but cannot be read or is
    /// not one this fake wrote.
    pub async fn try_start(config: FakeConfig) -> io::Result<FakeRescale> {
        Self::launch(config, None).await
    }

    /// Starts a fake serving HTTPS with a self-signed certificate made for this start, for
    /// `localhost` and `127.0.0.1`; [`certificate_pem`](FakeRescale::certificate_pem) gives
    /// it to clients to trust.
    ///
    /// # Errors
    /// As [`try_start`](FakeRescale::try_start), and when the certificate cannot be made.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub async fn try_start_https(config: FakeConfig) -> io::Result<FakeRescale> {
        let (tls, pem) = tls::Tls::generate()?;
        Self::launch(config, Some((tls, pem))).await
    }

    /// [`try_start_https`](FakeRescale::try_start_https), panicking on failure.
    ///
    /// # Panics
    /// When [`try_start_https`](FakeRescale::try_start_https) fails.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub async fn start_https(config: FakeConfig) -> FakeRescale {
        match Self::try_start_https(config).await {
            Ok(fake) => fake,
            Err(e) => panic!("rescale-fake could not start: {e}"),
        }
    }

    /// The certificate an HTTPS fake presents, as PEM (`None` for a plain HTTP fake).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    async fn launch(config: FakeConfig, tls: Option<(tls::Tls, String)>) -> io::Result<Self> {
        let saved = match &config.state_path {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|e| {
                let why = format!("cannot listen on 127.0.0.1:{}: {e}", config.port);
                io::Error::new(e.kind(), why)
            })?;
        let addr = listener.local_addr()?;
        let api_key = config
            .api_key
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.api_key.clone()))
            .unwrap_or_else(util::random_key);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let origin = format!("{scheme}://{addr}");
        let mut state = Shared::new(config, api_key.clone(), origin);
        if let Some(saved) = saved {
            persist::restore(&mut state, saved)?;
        }
        if let Some(path) = state.config.state_path.clone() {
            persist::save(&state, &path)?;
        }
        let shared = Arc::new(Mutex::new(state));
        let (stop, stopped) = watch::channel(false);
        let (tls, certificate_pem) = tls.unzip();
        let task = tokio::spawn(server::serve(listener, shared.clone(), tls, stopped));
        Ok(FakeRescale {
            addr,
            scheme,
            api_key,
            shared,
            task,
            stop,
            certificate_pem,
        })
    }

    /// The base URL to point a client at, with the `/api/v2/` prefix and a trailing slash,
    /// e.g. `"http://127.0.0.1:41234/api/v2/"` (`https` for an HTTPS fake).
    pub fn base_url(&self) -> String {
        format!("{}://{}/api/v2/", self.scheme, self.addr)
    }

    /// The address the fake listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the fake accepts (as `Token <key>` or `Bearer <key>`).
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// Stops the fake gracefully: no new connections; requests in progress are answered
    /// (for up to 5 s), then the state file, if any, is written a last time.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        let mut s = lock(&self.shared);
        s.changed = true;
        persist::save_if_changed(&mut s);
    }

    /// Writes the fake's jobs, files and statuses to `path` (atomically), in the form
    /// [`FakeConfig::state_path`] reads back at start.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        persist::save(&lock(&self.shared), path.as_ref())
    }

    /// Adds `n` completed jobs at once (named `Seeded job N`), for listing at scale.
    ///
    /// Seeded jobs have status histories, a stopped cluster and output files (made when
    /// first listed).
    pub fn seed_jobs(&self, n: usize) {
        let mut s = lock(&self.shared);
        s.seed_jobs(n);
        persist::save_if_changed(&mut s);
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

    /// Delays the first byte on every new connection by `latency` (zero turns it off):
    /// the server sleeps after accepting, before the TLS handshake or the first request.
    /// Connections already open are not affected.
    pub fn set_connect_latency(&self, latency: Duration) {
        lock(&self.shared).connect_latency = latency;
    }

    /// How many connections the fake has accepted so far (each one paid the connect
    /// latency): with [`requests`](FakeRescale::requests), how many requests a client sent
    /// per connection.
    pub fn connection_count(&self) -> usize {
        lock(&self.shared).connections
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
        let mut s = lock(&self.shared);
        let id = s.add_upload(name, contents.into());
        persist::save_if_changed(&mut s);
        id
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

/// Every ```` ```rust ```` snippet of the README, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

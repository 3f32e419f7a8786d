//! # rescale
//!
//! A typed async client for the [Rescale](https://rescale.com) HPC platform's REST API:
//! create simulation jobs, submit them, follow their statuses, and bring their outputs
//! home ([`files::Files::download_outputs`]).
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use rescale::jobs::{Hardware, JobAnalysis, NewJob};
//!
//! # async fn demo() -> rescale::Result<()> {
//! // RESCALE_API_KEY (and optionally RESCALE_API_URL) from the environment.
//! let client = rescale::Client::from_env()?;
//! let jobs = client.jobs();
//!
//! // Every job, across all pages.
//! let mut all = jobs.list().page_size(100).stream();
//! while let Some(job) = all.try_next().await? {
//!     println!("{} {} {:?}", job.id, job.name, job.status());
//! }
//!
//! // Create and submit.
//! let new = NewJob::new("Example", vec![
//!     JobAnalysis::new("user_included", "echo hi", Hardware::new("standard-plus", 1)).version("0"),
//! ]);
//! let job = jobs.create(&new).await?;
//! jobs.submit(&job.id).await?;
//! let history: Vec<_> = jobs.statuses(&job.id).stream().try_collect().await?;
//! # Ok(()) }
//! ```
//!
//! ## Shape of the crate
//! - [`Client`] holds the configuration and one connection pool; it is cheap to clone.
//! - [`Client::jobs`] gives the [`jobs::Jobs`] handle, one method per endpoint.
//! - [`Client::files`] uploads and downloads files ([`files::Files`]), including every
//!   output of a job into a directory; [`Client::catalog`] reads the software and hardware
//!   catalogues ([`catalog::Catalog`]).
//! - [`jobs::Jobs::wait_for_completion`] tells how a job ended ([`JobOutcome`]);
//!   [`jobs::Jobs::watch`] streams its statuses as they change;
//!   [`jobs::Jobs::watch_many`] and [`jobs::Jobs::wait_for_all`] do the same for many jobs
//!   with one polling loop.
//! - A running job: [`jobs::Jobs::tail`] reads a live file of a run, [`jobs::Jobs::follow`]
//!   streams its new lines like `tail -f` ([`FollowEvent`]), [`jobs::Jobs::snapshot_run`]
//!   and [`jobs::Jobs::stop_run`] steer a run.
//! - [`Client::account`] (the user, its projects) and [`Client::billing`] (compute prices);
//!   [`catalog::Catalog::check_job`] checks a job against the catalogues and the account
//!   before anything is created, reading each once per client.
//! - Lists are [`ListRequest`]s: `.page(n)` for one [`Page`], `.stream()` for every item.
//! - Every failure is a [`Error`], whose `Display` names the HTTP status, the call and
//!   the server's message; a cause is its `source()`, never repeated in `Display`.
//! - Every call is throttled per Rescale scope ([`ThrottleConfig`]), bounded in time, and
//!   retried when that is safe ([`RetryPolicy`]); a create or submit that may have reached
//!   the service is never sent twice ([`Error::OutcomeUnknown`]).
//!
//! Each type has one home: the client, errors, lists, retries, throttles and waits at the
//! root; resources and their models in [`jobs`], [`files`] and [`catalog`]. The one
//! alias is [`JobId`], re-exported at the root from [`jobs`].
//!
//! The API key never appears in `Debug`, `Display`, errors or logs (the server's text has
//! it redacted), and is only ever sent to the configured origin, whatever chain of
//! redirects the service answers with.
//!
//! ## Testing without an account
//! The `rescale-fake` crate (a dev-dependency, or a dependency of a program that starts it)
//! is a local Rescale: jobs that go through
//! their statuses, outputs to download, the service's pages, errors and throttling. Point
//! a client at it with [`ClientBuilder::base_url`] and [`ClientBuilder::token`]; the
//! repository's README shows it in tests and as a server for scripts.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> rescale::Result<()> {
//! let fake = rescale_fake::FakeRescale::start().await;
//! let client = rescale::Client::builder()
//!     .base_url(fake.base_url())
//!     .token(fake.api_key())
//!     .build()?;
//! fake.seed_jobs(3);
//! assert_eq!(client.jobs().list().page(1).await?.count, Some(3));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;
pub mod account;
pub mod billing;
mod cache;
pub mod catalog;
mod client;
mod error;
pub mod files;
mod id;
pub mod jobs;
mod outcome;
mod pagination;
mod retry;
mod serde_util;
mod throttle;
mod transport;
mod wait;
// Declared after `jobs` and `wait` so that their `Jobs` methods come after the job
// lifecycle's on the `Jobs` page of the docs (rustdoc keeps the order it finds them in).
mod fleet;
mod follow;

pub use client::{Client, ClientBuilder, ENV_API_KEY, ENV_API_URL, ENV_BASE_URL, Platform};
pub use error::{ApiError, Error, Result};
pub use fleet::{Fleet, FleetEvent, WaitForAll};
pub use follow::{Follow, FollowEvent};
/// Every job method takes one, so it is at the root too; its home is [`jobs::JobId`].
#[doc(no_inline)]
pub use jobs::JobId;
pub use outcome::JobOutcome;
pub use pagination::{ItemStream, ListRequest, Page, PageStream};
pub use retry::RetryPolicy;
pub use throttle::{
    Admission, InProcessStore, RateLimit, StoreError, ThrottleConfig, ThrottleScope, ThrottleStore,
};
pub use wait::{ClusterStopWait, WaitForCompletion, Watch};

/// Every ```` ```rust ```` snippet of the README, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

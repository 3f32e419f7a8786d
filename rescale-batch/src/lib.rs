//! # rescale-batch
//!
//! Submit thousands of [Rescale](https://rescale.com) jobs exactly once, and share the
//! client's rate limits between processes and machines. Built on the [`rescale`] client.
//!
//! - [`Batch`]: items (a key, a [`NewJob`](rescale::jobs::NewJob), input files) uploaded,
//!   created and submitted each exactly once, with bounded concurrency, inside the
//!   submission budget, through a SQLite ledger that survives `kill -9`.
//! - [`SqliteStore`]: a [`ThrottleStore`](rescale::ThrottleStore) in a SQLite file, for
//!   the processes of one machine.
//! - `RedisStore` (feature `redis`): a throttle store in Redis, for many machines.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use rescale::jobs::{Hardware, JobAnalysis, NewJob};
//! use rescale_batch::{Batch, BatchItem, SqliteStore};
//!
//! // Every process of this machine that uses this file spends one budget.
//! let store = SqliteStore::open("/var/tmp/rescale-throttle.db")?;
//! let client = rescale::Client::builder()
//!     .token(std::env::var("RESCALE_API_KEY")?)
//!     .throttle_store(Arc::new(store))
//!     .build()?;
//!
//! let items = (1..=1000).map(|i| {
//!     let job = NewJob::new(format!("Sweep {i}"), vec![JobAnalysis::new(
//!         "user_included",
//!         format!("./run.sh {i}"),
//!         Hardware::new("emerald", 1),
//!     ).version("0")]);
//!     BatchItem::new(format!("point-{i}"), job)
//! });
//! // Killed and run again, it carries on where it was: no job twice, none lost.
//! let summary = Batch::new(client, "sweep.ledger").run(items).await?;
//! assert!(summary.is_complete());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod error;
mod event;
mod ledger;
mod marker;
#[cfg(feature = "redis")]
mod redis_store;
mod sqlite_store;

pub use batch::{Batch, BatchItem};
pub use error::BatchError;
pub use event::{Event, Step, Summary};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use sqlite_store::SqliteStore;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

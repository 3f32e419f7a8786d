//! [`BatchError`]: why a batch could not run at all (an item's own failure is an
//! [`Event::Failed`](crate::Event::Failed), not an error of the batch).

use std::path::PathBuf;

/// Why a batch could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The ledger could not be read or written.
    #[error("the batch ledger failed")]
    Ledger(#[from] rusqlite::Error),
    /// Another process is running a batch with this ledger.
    #[error("the ledger {} is in use by another running batch", .0.display())]
    Busy(PathBuf),
    /// A file next to the ledger could not be opened.
    #[error("could not open {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An item's key cannot be used: it is carried in the job's name, so it must be
    /// found there again.
    #[error("the item key `{key}` {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two items of one run have the same key.
    #[error("two items have the key `{0}`")]
    DuplicateKey(String),
}

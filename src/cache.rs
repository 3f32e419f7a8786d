//! Reads that change rarely (the account, its projects, the catalogues), kept for the
//! client's lifetime and shared by its clones, so that checking many jobs reads each once.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::account::{Project, User};
use crate::catalog::{Analysis, CoreType};
use crate::error::Result;

/// One cached value: read on first use, kept until [`Cached::clear`].
pub(crate) struct Cached<T> {
    // An async mutex so that callers arriving together wait for one read, not make many.
    slot: Mutex<Option<Arc<T>>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached {
            slot: Mutex::new(None),
        }
    }
}

impl<T> Cached<T> {
    /// The cached value, or the one `read` gives (kept only when it succeeds).
    pub(crate) async fn get_or_read<F, Fut>(&self, read: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(value) = slot.as_ref() {
            return Ok(value.clone());
        }
        let value = Arc::new(read().await?);
        *slot = Some(value.clone());
        Ok(value)
    }

    /// Forgets the value: the next use reads it again.
    pub(crate) async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

/// Everything a [`Client`](crate::Client) caches.
#[derive(Default)]
pub(crate) struct ReadCache {
    pub(crate) me: Cached<User>,
    pub(crate) projects: Cached<Vec<Project>>,
    pub(crate) core_types: Cached<Vec<CoreType>>,
    pub(crate) analyses: Cached<Vec<Analysis>>,
}

impl ReadCache {
    /// Forgets the account reads (user and projects).
    pub(crate) async fn clear_account(&self) {
        self.me.clear().await;
        self.projects.clear().await;
    }

    /// Forgets the catalogue reads.
    pub(crate) async fn clear_catalog(&self) {
        self.core_types.clear().await;
        self.analyses.clear().await;
    }
}

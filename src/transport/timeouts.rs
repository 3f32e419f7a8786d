//! How long an attempt may take: its timeout, counted for a streamed body (an upload) from
//! the body's last progress.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// When an attempt's streamed body last made progress: an upload's attempt timeout counts
/// from its last chunk sent, so a large file on a slow link is cut only by a stall.
#[derive(Clone)]
pub(crate) struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    start: Instant,
    /// Nanoseconds from `start` to the last progress.
    last: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity(Arc::new(ActivityInner {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }))
    }

    /// Marks progress now.
    pub(crate) fn touch(&self) {
        let nanos = u64::try_from(self.0.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.last.fetch_max(nanos, Ordering::Relaxed);
    }

    /// When progress was last marked (the start, before any).
    pub(crate) fn last(&self) -> Instant {
        self.0.start + Duration::from_nanos(self.0.last.load(Ordering::Relaxed))
    }
}

/// `attempt`, cut (`None`) once `limit` has passed since it started, or, for an attempt
/// whose body reports its progress, since that body's last progress.
pub(super) async fn until_idle<T>(
    limit: Duration,
    activity: Option<&Activity>,
    attempt: impl Future<Output = T>,
) -> Option<T> {
    let mut attempt = std::pin::pin!(attempt);
    let Some(mut deadline) = Instant::now().checked_add(limit) else {
        return Some(attempt.await);
    };
    loop {
        if let Ok(done) = tokio::time::timeout_at(deadline, attempt.as_mut()).await {
            return Some(done);
        }
        match activity.and_then(|a| a.last().checked_add(limit)) {
            Some(later) if later > deadline => deadline = later,
            _ => return None,
        }
    }
}

/// The error of an attempt cut by its timeout.
#[cold]
pub(super) fn attempt_timed_out(limit: Duration, streamed_body: bool, attempt: u32) -> Error {
    Error::Timeout(if streamed_body {
        format!(
            "no progress for {limit:?}: nothing more of the body sent, or no answer after it (attempt {attempt})"
        )
    } else {
        format!("no answer within {limit:?} (attempt {attempt})")
    })
}

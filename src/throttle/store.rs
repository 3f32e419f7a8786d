//! Where the throttle keeps its state: the [`ThrottleStore`] trait, and the in-process
//! store every client has unless it is given another.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt};

use super::{RateLimit, ThrottleScope};

/// Why a store could not answer (a database or a server that failed).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`ThrottleStore`] says to a request that asks to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go now: one request was taken from the budget.
    Granted,
    /// The budget is spent: ask again after this long.
    Wait(Duration),
    /// A 429 paused the scope: it stays paused this much longer.
    Paused(Duration),
}

/// The state of the client's throttle: one budget and one pause per [`ThrottleScope`].
///
/// Each request asks [`admit`](ThrottleStore::admit) first; a 429 from the service calls
/// [`pause`](ThrottleStore::pause). A store shared by several clients (in one process, in
/// several processes, on several machines) makes them spend one budget together, so
/// together they never exceed the [`RateLimit`] in any window, and a 429 seen by one
/// pauses the scope for all. The default, [`InProcessStore`], is shared by a client's
/// clones. The `rescale-batch` crate has stores in SQLite (the processes of one machine)
/// and in Redis (many machines).
///
/// An implementation must admit with the generic cell rate algorithm of
/// [`RateLimit::gcra`], atomically (no two requests may read the same state), on one
/// clock that every sharer reads.
///
/// ```
/// use std::sync::Arc;
/// use rescale::{InProcessStore, ThrottleStore};
///
/// // Two clients (say, two API keys of one user) that spend one budget.
/// let store: Arc<dyn ThrottleStore> = Arc::new(InProcessStore::new());
/// let a = rescale::Client::builder().token("key-a").throttle_store(store.clone()).build()?;
/// let b = rescale::Client::builder().token("key-b").throttle_store(store).build()?;
/// # Ok::<(), rescale::Error>(())
/// ```
pub trait ThrottleStore: Send + Sync + fmt::Debug + 'static {
    /// Takes one request from `scope`'s budget under `limit` (`None`: the scope has no
    /// limit, only a pause holds it back), or says how long to wait.
    fn admit(
        &self,
        scope: ThrottleScope,
        limit: Option<RateLimit>,
    ) -> BoxFuture<'_, Result<Admission, StoreError>>;

    /// Pauses `scope` for `wait` from now, unless it is already paused for longer.
    fn pause(&self, scope: ThrottleScope, wait: Duration) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// The default [`ThrottleStore`]: one budget per scope in this process, shared by every
/// client given the same store, spent with [`RateLimit::gcra`] as the shared stores do. Its
/// state is a scope's next theoretical arrival time, whatever the limit: clients with
/// different limits spend one budget, each under its own limit.
pub struct InProcessStore {
    /// The clock's zero: times are nanoseconds since.
    start: Instant,
    scopes: Mutex<[Slot; 3]>,
}

#[derive(Default)]
struct Slot {
    /// The GCRA's theoretical arrival time of the scope's next request.
    tat: Option<u64>,
    paused_until: Option<Instant>,
}

impl Default for InProcessStore {
    fn default() -> Self {
        InProcessStore {
            start: Instant::now(),
            scopes: Mutex::default(),
        }
    }
}

impl InProcessStore {
    /// An empty store: full budgets, no pause.
    pub fn new() -> Self {
        InProcessStore::default()
    }

    pub(super) fn admit_now(
        &self,
        scope: ThrottleScope,
        limit: Option<RateLimit>,
    ) -> Result<Admission, StoreError> {
        let now = Instant::now();
        // A poisoned lock only means another call panicked; the state is still valid.
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut scopes[scope.index()];
        if let Some(until) = slot.paused_until.filter(|u| *u > now) {
            return Ok(Admission::Paused(until - now));
        }
        let Some(limit) = limit else {
            return Ok(Admission::Granted);
        };
        // The limit was checked when its client was built, as the shared stores assume.
        let nanos = u64::try_from(now.duration_since(self.start).as_nanos()).unwrap_or(u64::MAX);
        Ok(match limit.gcra(slot.tat, nanos) {
            Ok(tat) => {
                slot.tat = Some(tat);
                Admission::Granted
            }
            Err(wait) => Admission::Wait(wait),
        })
    }
}

impl fmt::Debug for InProcessStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessStore").finish_non_exhaustive()
    }
}

impl ThrottleStore for InProcessStore {
    fn admit(
        &self,
        scope: ThrottleScope,
        limit: Option<RateLimit>,
    ) -> BoxFuture<'_, Result<Admission, StoreError>> {
        futures::future::ready(self.admit_now(scope, limit)).boxed()
    }

    fn pause(&self, scope: ThrottleScope, wait: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        if let Some(until) = Instant::now().checked_add(wait) {
            let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
            let paused = &mut scopes[scope.index()].paused_until;
            if paused.is_none_or(|current| current < until) {
                *paused = Some(until);
            }
        }
        futures::future::ready(Ok(())).boxed()
    }
}

//! [`SqliteStore`]: the throttle's budgets in a SQLite file, shared by the processes of
//! one machine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::{BoxFuture, FutureExt};
use rescale::{Admission, RateLimit, StoreError, ThrottleScope, ThrottleStore};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// How long a process waits for another to finish its transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`ThrottleStore`] in a SQLite file: every process of the machine that opens the same
/// file spends one budget per scope, and a 429 seen by one pauses the scope for all.
///
/// Each admission is one short `BEGIN IMMEDIATE` transaction (SQLite's write lock, so no
/// two processes read the same state), timed by the machine's clock, which all the
/// processes share. Give processes that use different Rescale accounts different files
/// or [`namespace`](SqliteStore::namespace)s.
///
/// ```no_run
/// use std::sync::Arc;
/// use rescale_batch::SqliteStore;
///
/// let store = SqliteStore::open("/var/tmp/rescale-throttle.db")?;
/// let client = rescale::Client::builder()
///     .token("key")
///     .throttle_store(Arc::new(store))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    namespace: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<SqliteStore> {
        let path = path.as_ref().to_owned();
        let conn = crate::ledger::open_shared(
            &path,
            BUSY_TIMEOUT,
            "CREATE TABLE IF NOT EXISTS rescale_throttle (
                 key TEXT PRIMARY KEY,
                 tat_ns INTEGER,
                 paused_until_ns INTEGER NOT NULL DEFAULT 0
             );",
        )?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            namespace: String::new(),
        })
    }

    /// Keeps this store's budgets apart from those of other namespaces in the same file
    /// (e.g. one per Rescale account).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    fn key(&self, scope: ThrottleScope) -> String {
        format!("{}:{}", self.namespace, scope.key())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on a blocking thread.
    fn transaction<T, F>(&self, f: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, u64) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        async move {
            tokio::task::spawn_blocking(move || -> Result<T, StoreError> {
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // The clock is read under the write lock, so stored times never go back.
                let value = f(&tx, now_ns())?;
                tx.commit()?;
                Ok(value)
            })
            .await?
        }
        .boxed()
    }
}

/// Nanoseconds since the Unix epoch on this machine's clock.
pub(crate) fn now_ns() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

fn to_i64(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

impl ThrottleStore for SqliteStore {
    fn admit(
        &self,
        scope: ThrottleScope,
        limit: Option<RateLimit>,
    ) -> BoxFuture<'_, Result<Admission, StoreError>> {
        let key = self.key(scope);
        self.transaction(move |tx, now| {
            let row: Option<(Option<i64>, i64)> = tx
                .query_row(
                    "SELECT tat_ns, paused_until_ns FROM rescale_throttle WHERE key = ?1",
                    params![key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (tat, paused) = row.unwrap_or((None, 0));
            let paused = u64::try_from(paused).unwrap_or(0);
            if paused > now {
                return Ok(Admission::Paused(Duration::from_nanos(paused - now)));
            }
            let Some(limit) = limit else {
                return Ok(Admission::Granted);
            };
            let tat = tat.and_then(|t| u64::try_from(t).ok());
            match limit.gcra(tat, now) {
                Ok(next) => {
                    tx.execute(
                        "INSERT INTO rescale_throttle (key, tat_ns) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET tat_ns = excluded.tat_ns",
                        params![key, to_i64(next)],
                    )?;
                    Ok(Admission::Granted)
                }
                Err(wait) => Ok(Admission::Wait(wait)),
            }
        })
    }

    fn pause(&self, scope: ThrottleScope, wait: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = self.key(scope);
        let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        self.transaction(move |tx, now| {
            tx.execute(
                "INSERT INTO rescale_throttle (key, paused_until_ns) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE
                 SET paused_until_ns = max(paused_until_ns, excluded.paused_until_ns)",
                params![key, to_i64(now.saturating_add(wait))],
            )?;
            Ok(())
        })
    }
}

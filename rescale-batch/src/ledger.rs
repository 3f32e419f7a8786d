//! The ledger: one SQLite file that records every step of every item before it is taken
//! (an intent) and after (its result), so that a batch killed at any instant resumes
//! where it was, and knows which steps may have happened without their answer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rescale::jobs::NewJob;
use rusqlite::{Connection, params};

use crate::error::BatchError;

/// How long a process waits for another to finish writing before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an item is. The `*ing` states are intents: the step may or may not have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Uploading,
    Uploaded,
    Creating,
    Created,
    Submitting,
    Submitted,
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Uploading => "uploading",
            State::Uploaded => "uploaded",
            State::Creating => "creating",
            State::Created => "created",
            State::Submitting => "submitting",
            State::Submitted => "submitted",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<State> {
        Ok(match s {
            "pending" => State::Pending,
            "uploading" => State::Uploading,
            "uploaded" => State::Uploaded,
            "creating" => State::Creating,
            "created" => State::Created,
            "submitting" => State::Submitting,
            "submitted" => State::Submitted,
            "failed" => State::Failed,
            other => {
                return Err(rusqlite::Error::InvalidColumnType(
                    0,
                    format!("unknown state `{other}`"),
                    rusqlite::types::Type::Text,
                ));
            }
        })
    }
}

/// One item as the ledger has it.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) key: String,
    pub(crate) job: NewJob,
    pub(crate) inputs: Vec<PathBuf>,
    pub(crate) state: State,
    /// The ids of the inputs uploaded so far, in the order of `inputs`.
    pub(crate) file_ids: Vec<String>,
    pub(crate) job_id: Option<String>,
    /// When the current intent was written (ms since the Unix epoch).
    pub(crate) intent_at: Option<i64>,
}

/// Opens a SQLite file for several processes, with `schema` (run once it is open): WAL
/// (readers never block the writer), a busy timeout instead of an immediate "database is
/// locked", every commit on disk.
///
/// SQLite answers "busy" at once, without waiting out the busy timeout, when processes
/// that open a new file together switch it to WAL or create its tables at the same
/// moment; that setup is tried again until the timeout has passed.
pub(crate) fn open_shared(
    path: &Path,
    busy: Duration,
    schema: &str,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy)?;
    let deadline = std::time::Instant::now() + busy;
    loop {
        let setup = conn
            .pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|()| conn.execute_batch(schema));
        match setup {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.map(|()| conn),
        }
    }
}

/// The ledger of one batch, held by one running batch at a time.
#[derive(Clone)]
pub(crate) struct Ledger {
    conn: Arc<Mutex<Connection>>,
    /// The batch's own id, carried in every job it creates.
    pub(crate) batch_id: String,
    /// Held (locked) while this batch runs; the OS releases it when the process dies.
    _runner: Arc<File>,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

impl Ledger {
    /// Opens (or creates) the ledger at `path` and takes its runner lock.
    pub(crate) fn open(path: &Path) -> Result<Ledger, BatchError> {
        let lock_path = path.with_extension("lock");
        let runner = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| BatchError::Io {
                path: lock_path.clone(),
                source,
            })?;
        runner
            .try_lock()
            .map_err(|_| BatchError::Busy(path.to_owned()))?;
        let conn = open_shared(
            path,
            BUSY_TIMEOUT,
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS items (
                 key TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL,
                 job TEXT NOT NULL,
                 inputs TEXT NOT NULL,
                 state TEXT NOT NULL,
                 file_ids TEXT NOT NULL DEFAULT '[]',
                 job_id TEXT,
                 error TEXT,
                 intent_at INTEGER,
                 updated_at INTEGER NOT NULL
             );",
        )?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('batch_id', ?1)",
            params![new_batch_id()],
        )?;
        let batch_id: String =
            conn.query_row("SELECT value FROM meta WHERE name = 'batch_id'", [], |r| {
                r.get(0)
            })?;
        Ok(Ledger {
            conn: Arc::new(Mutex::new(conn)),
            batch_id,
            _runner: Arc::new(runner),
        })
    }

    /// Runs `f` on the connection on a blocking thread.
    async fn with<T, F>(&self, f: F) -> Result<T, BatchError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| BatchError::Ledger(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?
        .map_err(BatchError::Ledger)
    }

    /// Adds the items not in the ledger yet, and gives an item already there its new
    /// definition while its job was never created (see [`Batch::run`](crate::Batch::run)),
    /// in one transaction.
    pub(crate) async fn add(
        &self,
        items: Vec<(String, NewJob, Vec<PathBuf>)>,
    ) -> Result<usize, BatchError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut seq: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM items", [], |r| r.get(0))?;
            let mut added = 0;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO items (key, seq, job, inputs, state, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
                )?;
                // An item whose job was never created, nor may have been (no create under
                // way), takes the definition given now: a mistake fixed in it takes effect.
                // Its uploads are kept if its inputs are the same, made again if not.
                let mut redefine = tx.prepare(
                    "UPDATE items SET job = ?2,
                         file_ids = CASE WHEN inputs = ?3 THEN file_ids ELSE '[]' END,
                         state = CASE WHEN inputs = ?3 THEN state ELSE 'pending' END,
                         inputs = ?3, updated_at = ?4
                     WHERE key = ?1 AND job_id IS NULL
                       AND state IN ('pending', 'uploading', 'uploaded', 'failed')
                       AND (job <> ?2 OR inputs <> ?3)",
                )?;
                for (key, job, inputs) in items {
                    seq += 1;
                    let (job, inputs, now) = (to_json(&job), to_json(&inputs), now_ms());
                    let inserted = insert.execute(params![key, seq, job, inputs, now])?;
                    if inserted == 0 {
                        redefine.execute(params![key, job, inputs, now])?;
                    }
                    added += inserted;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    /// Every item, in the order they were added. Items that failed for good in an earlier
    /// run come back at their last certain state, to be tried again.
    pub(crate) async fn load(&self) -> Result<Vec<Row>, BatchError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE items SET state = CASE
                     WHEN job_id IS NOT NULL THEN 'created'
                     ELSE 'pending' END,
                   error = NULL
                 WHERE state = 'failed'",
                [],
            )?;
            let mut stmt = conn.prepare(
                "SELECT key, job, inputs, state, file_ids, job_id, intent_at FROM items ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
                let decode = |i: usize, text: String| {
                    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, text.into())
                };
                let job: NewJob = serde_json::from_str(&json(1)?).map_err(|e| decode(1, e.to_string()))?;
                let inputs: Vec<PathBuf> =
                    serde_json::from_str(&json(2)?).map_err(|e| decode(2, e.to_string()))?;
                let file_ids: Vec<String> =
                    serde_json::from_str(&json(4)?).map_err(|e| decode(4, e.to_string()))?;
                Ok(Row {
                    key: r.get(0)?,
                    job,
                    inputs,
                    state: State::parse(&r.get::<_, String>(3)?)?,
                    file_ids,
                    job_id: r.get(5)?,
                    intent_at: r.get(6)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Records that `key` is now in `state`; an intent state also records its time.
    pub(crate) async fn set(&self, key: &str, state: State) -> Result<(), BatchError> {
        let key = key.to_owned();
        self.with(move |conn| {
            let intent = matches!(
                state,
                State::Uploading | State::Creating | State::Submitting
            );
            conn.execute(
                "UPDATE items SET state = ?2, updated_at = ?3,
                     intent_at = CASE WHEN ?4 THEN ?3 ELSE intent_at END
                 WHERE key = ?1",
                params![key, state.as_str(), now_ms(), intent],
            )?;
            Ok(())
        })
        .await
    }

    /// Records one more uploaded input of `key`.
    pub(crate) async fn uploaded_file(
        &self,
        key: &str,
        file_ids: &[String],
    ) -> Result<(), BatchError> {
        let (key, ids) = (key.to_owned(), to_json(&file_ids));
        self.with(move |conn| {
            conn.execute(
                "UPDATE items SET file_ids = ?2, updated_at = ?3 WHERE key = ?1",
                params![key, ids, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// Records the job created for `key` (state `created`).
    pub(crate) async fn created(&self, key: &str, job_id: &str) -> Result<(), BatchError> {
        let (key, job_id) = (key.to_owned(), job_id.to_owned());
        self.with(move |conn| {
            conn.execute(
                "UPDATE items SET state = 'created', job_id = ?2, updated_at = ?3 WHERE key = ?1",
                params![key, job_id, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// Records that `key` failed for good in this run, and why.
    pub(crate) async fn failed(&self, key: &str, error: &str) -> Result<(), BatchError> {
        let (key, error) = (key.to_owned(), error.to_owned());
        self.with(move |conn| {
            conn.execute(
                "UPDATE items SET state = 'failed', error = ?2, updated_at = ?3 WHERE key = ?1",
                params![key, error, now_ms()],
            )?;
            Ok(())
        })
        .await
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    i64::try_from(crate::sqlite_store::now_ns() / 1_000_000).unwrap_or(i64::MAX)
}

/// A new batch id: 10 characters from the time and the process id, enough to tell one
/// ledger's jobs from another's.
fn new_batch_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::sqlite_store::now_ns());
    h.write_u32(std::process::id());
    let mut n = h.finish();
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..10)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

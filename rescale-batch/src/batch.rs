//! [`Batch`]: upload, create and submit many jobs, each exactly once, resumable.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use rescale::Client;
use rescale::jobs::{InputFile, NewJob};

use crate::error::BatchError;
use crate::event::{Callback, Event, Step, Summary, with_causes};
use crate::ledger::{Ledger, Row, State, now_ms};
use crate::marker::{check_key, find_jobs, mark, was_submitted};

/// How many times in a row one run creates (or submits) an item whose previous try had an
/// unknown outcome that turned out not to have happened.
const MAX_UNKNOWN: u32 = 3;

/// One job of a batch: a stable key of the caller's (a row number, a parameter set's
/// name), the job, and the input files to upload for it.
///
/// ```
/// use rescale::jobs::{Hardware, JobAnalysis, NewJob};
/// use rescale_batch::BatchItem;
///
/// let job = NewJob::new("Case 7", vec![
///     JobAnalysis::new("user_included", "./run.sh 7", Hardware::new("emerald", 1)).version("0"),
/// ]);
/// let item = BatchItem::new("case-7", job).input("inputs/case-7.tar.gz");
/// ```
#[derive(Debug, Clone)]
pub struct BatchItem {
    key: String,
    job: NewJob,
    inputs: Vec<PathBuf>,
}

impl BatchItem {
    /// The item `key` (unique in its batch) creating `job`. The key is carried in the
    /// job's name (see [`Batch`]), so it must not hold `[`, `]`, `/` or control characters.
    pub fn new(key: impl Into<String>, job: NewJob) -> Self {
        BatchItem {
            key: key.into(),
            job,
            inputs: Vec::new(),
        }
    }

    /// A file to upload before the job is created; it becomes an input file of the job's
    /// first analysis.
    pub fn input(mut self, path: impl AsRef<Path>) -> Self {
        self.inputs.push(path.as_ref().to_owned());
        self
    }
}

/// Submits many jobs, each exactly once, through a ledger that survives crashes.
///
/// Each item goes through upload, create and submit. Every step is written to the ledger
/// (a SQLite file) before it is sent and after its answer, so a process killed at any
/// instant and run again with the same ledger and items finishes the batch with no job
/// created or submitted twice, and none lost:
/// - a create whose outcome is unknown (a timeout, a 5xx, a crash while it was in flight)
///   is looked up on the service before anything is created again: the job's name carries
///   the item's mark ` [<batch id>/<key>]`, and a listing of the jobs (newest first, one
///   page after another) finds it; the job is created again only when a listing that
///   cannot have missed it says it is absent: one whose first page (a single answer of
///   the service) already holds a job older than the lookup's margin, or else the second
///   of two listings in a row that agree job for job (a deletion can pull a job onto a
///   page already read, and the service counts the list and reads a page's jobs at two
///   moments, so a job created in between can push the last one out of a page that looks
///   like the end). The list is read up to four times; after that the item fails in this
///   run's [`Summary`] and waits for the next run;
/// - after three lost answers in a row for one item, it fails in the [`Summary`] with the
///   last one and waits for the next run, which looks it up;
/// - a submit whose outcome is unknown is looked up in the job's status history (a job
///   never submitted has none);
/// - an upload whose outcome is unknown is made again (a lost copy is an unused file, not
///   a job).
///
/// Submissions spend the client's submission budget ([`rescale::ThrottleConfig`]); give
/// the client a shared [`ThrottleStore`](rescale::ThrottleStore) to share it with other
/// processes. Lookups wait [`reconcile_after`](Batch::reconcile_after) after the step was
/// sent, so that an answer still on its way cannot be missed.
///
/// ```no_run
/// # async fn demo(client: rescale::Client, items: Vec<rescale_batch::BatchItem>) -> Result<(), rescale_batch::BatchError> {
/// use rescale_batch::{Batch, Event};
///
/// let summary = Batch::new(client, "sweep.ledger")
///     .concurrency(8)
///     .on_event(|e| if let Event::Submitted { key, job_id } = e { println!("{key}: {job_id}") })
///     .run(items)
///     .await?;
/// println!("{} of {} submitted", summary.submitted, summary.total);
/// # Ok(()) }
/// ```
#[must_use]
pub struct Batch {
    client: Client,
    ledger: PathBuf,
    concurrency: usize,
    reconcile_after: Duration,
    on_event: Option<Callback>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("ledger", &self.ledger)
            .field("concurrency", &self.concurrency)
            .field("reconcile_after", &self.reconcile_after)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// A batch recorded in the ledger at `ledger` (created if missing). One running batch
    /// holds a ledger at a time; another process that opens it gets [`BatchError::Busy`].
    pub fn new(client: Client, ledger: impl AsRef<Path>) -> Self {
        Batch {
            client,
            ledger: ledger.as_ref().to_owned(),
            concurrency: 8,
            reconcile_after: Duration::from_secs(60),
            on_event: None,
        }
    }

    /// How many items are worked on at once (default 8, at least 1).
    pub fn concurrency(mut self, items_at_once: usize) -> Self {
        self.concurrency = items_at_once.max(1);
        self
    }

    /// How long after a step with an unknown outcome was sent the service is asked whether
    /// it happened (default 60 s: longer than a request can take to arrive).
    pub fn reconcile_after(mut self, wait: Duration) -> Self {
        self.reconcile_after = wait;
        self
    }

    /// Calls `f` with every [`Event`], after the ledger recorded it.
    pub fn on_event(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }

    /// Adds the items that are not in the ledger yet, then takes every unfinished item of
    /// the ledger to submitted. An item already there takes the definition given now as
    /// long as its job was never created nor may have been (so a fixed mistake, such as an
    /// input's path, takes effect; its uploads are made again if its inputs changed);
    /// from its create on, it keeps the definition its job was created with.
    pub async fn run(
        self,
        items: impl IntoIterator<Item = BatchItem>,
    ) -> Result<Summary, BatchError> {
        let mut seen = HashSet::new();
        let mut new = Vec::new();
        for item in items {
            check_key(&item.key)?;
            if !seen.insert(item.key.clone()) {
                return Err(BatchError::DuplicateKey(item.key));
            }
            new.push((item.key, item.job, item.inputs));
        }
        let ledger = Ledger::open(&self.ledger)?;
        ledger.add(new).await?;
        let rows = ledger.load().await?;
        let done = rows.iter().filter(|r| r.state == State::Submitted).count();
        let runner = Runner {
            client: self.client,
            ledger,
            reconcile_after: self.reconcile_after,
            on_event: self.on_event,
            summary: Mutex::new(Summary {
                total: rows.len(),
                submitted: done,
                ..Summary::default()
            }),
        };
        runner.emit(Event::Loaded {
            total: rows.len(),
            submitted: done,
        });
        let mut rows: Vec<Row> = rows
            .into_iter()
            .filter(|r| r.state != State::Submitted)
            .collect();
        runner.reconcile_creates(&mut rows).await?;
        futures::stream::iter(rows.into_iter().map(Ok))
            .try_for_each_concurrent(self.concurrency, |row| runner.drive(row))
            .await?;
        let summary = runner.summary.lock().unwrap_or_else(|p| p.into_inner());
        Ok(summary.clone())
    }
}

/// What drives the items of one run.
struct Runner {
    client: Client,
    ledger: Ledger,
    reconcile_after: Duration,
    on_event: Option<Callback>,
    summary: Mutex<Summary>,
}

/// How a step ended.
enum Outcome<T> {
    Done(T),
    /// Failed (reported); the item stops here for this run.
    Stop,
}

impl Runner {
    fn emit(&self, event: Event) {
        {
            let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
            match &event {
                Event::Submitted { .. } => {
                    s.submitted += 1;
                    s.submitted_now += 1;
                }
                Event::Reconciled { .. } => s.reconciled += 1,
                Event::Failed { key, error, .. } => {
                    s.failed.push((key.clone(), with_causes(error.as_ref())))
                }
                _ => {}
            }
        }
        if let Some(f) = &self.on_event {
            f(&event);
        }
    }

    async fn fail(
        &self,
        row: &Row,
        step: Step,
        error: rescale::Error,
        back_to: State,
    ) -> Result<(), BatchError> {
        // A refusal (4xx, bad input) is recorded as such; anything else leaves the item at
        // its last certain state.
        if !error.is_retryable() {
            self.ledger.failed(&row.key, &with_causes(&error)).await?;
        } else {
            self.ledger.set(&row.key, back_to).await?;
        }
        self.emit(Event::Failed {
            key: row.key.clone(),
            step,
            error: Arc::new(error),
        });
        Ok(())
    }

    /// Waits until `reconcile_after` has passed since the intent of `intent_at`.
    /// Said as [`Event::Waiting`] (and, when there is a wait, a log line) for the `keys`
    /// whose `step` is looked up.
    async fn grace(&self, intent_at: Option<i64>, step: Step, keys: Vec<String>) {
        let due = intent_at
            .unwrap_or(0)
            .saturating_add(i64::try_from(self.reconcile_after.as_millis()).unwrap_or(i64::MAX));
        let wait = Duration::from_millis(due.saturating_sub(now_ms()).max(0).unsigned_abs());
        if !wait.is_zero() {
            tracing::info!(
                items = keys.len(),
                ?step,
                wait_ms = wait.as_millis() as u64,
                "waiting before looking up steps whose outcome is unknown"
            );
        }
        self.emit(Event::Waiting { keys, step, wait });
        tokio::time::sleep(wait).await;
    }

    /// Looks up, in one listing, the jobs of every item whose create had an unknown
    /// outcome in an earlier run.
    async fn reconcile_creates(&self, rows: &mut [Row]) -> Result<(), BatchError> {
        let unknown: Vec<&mut Row> = rows
            .iter_mut()
            .filter(|r| r.state == State::Creating)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let latest = unknown.iter().filter_map(|r| r.intent_at).max();
        let oldest = unknown
            .iter()
            .filter_map(|r| r.intent_at)
            .min()
            .unwrap_or(0);
        let keys: Vec<String> = unknown.iter().map(|r| r.key.clone()).collect();
        self.grace(latest, Step::Create, keys.clone()).await;
        let keys: HashSet<String> = keys.into_iter().collect();
        let found = match find_jobs(&self.client, &self.ledger.batch_id, &keys, oldest).await {
            Ok(found) => found,
            Err(e) => {
                // Without the listing nothing may be created again: these items wait for
                // the next run.
                let e = Arc::new(e);
                for row in unknown {
                    self.emit(Event::Failed {
                        key: row.key.clone(),
                        step: Step::Create,
                        error: e.clone(),
                    });
                    row.state = State::Failed;
                }
                return Ok(());
            }
        };
        for row in unknown {
            self.settle_create(row, found.get(&row.key).cloned())
                .await?;
        }
        Ok(())
    }

    /// Records the job created for an item.
    async fn record_created(&self, row: &mut Row, job_id: String) -> Result<(), BatchError> {
        self.ledger.created(&row.key, &job_id).await?;
        row.state = State::Created;
        self.emit(Event::Created {
            key: row.key.clone(),
            job_id: job_id.clone(),
        });
        row.job_id = Some(job_id);
        Ok(())
    }

    /// Records what a lookup found for an item whose create had an unknown outcome.
    async fn settle_create(&self, row: &mut Row, job_id: Option<String>) -> Result<(), BatchError> {
        self.emit(Event::Reconciled {
            key: row.key.clone(),
            step: Step::Create,
            happened: job_id.is_some(),
        });
        match job_id {
            Some(id) => self.record_created(row, id).await?,
            None => {
                self.ledger.set(&row.key, State::Uploaded).await?;
                row.state = State::Uploaded;
            }
        }
        Ok(())
    }

    /// Takes one item from where the ledger has it to submitted, or to its first failure.
    async fn drive(&self, mut row: Row) -> Result<(), BatchError> {
        if matches!(row.state, State::Failed) {
            return Ok(());
        }
        // Checked as given, before its uploads, and before its mark lengthens its name (a
        // blank name would pass with the mark).
        if matches!(
            row.state,
            State::Pending | State::Uploading | State::Uploaded
        ) && let Err(e) = row.job.validate()
        {
            return self.fail(&row, Step::Create, e, State::Pending).await;
        }
        if matches!(row.state, State::Pending | State::Uploading) {
            match self.upload(&mut row).await? {
                Outcome::Done(()) => {}
                Outcome::Stop => return Ok(()),
            }
        }
        if row.state == State::Uploaded {
            match self.create(&mut row).await? {
                Outcome::Done(()) => {}
                Outcome::Stop => return Ok(()),
            }
        }
        if matches!(row.state, State::Created | State::Submitting) {
            self.submit(&mut row).await?;
        }
        Ok(())
    }

    async fn upload(&self, row: &mut Row) -> Result<Outcome<()>, BatchError> {
        if row.file_ids.len() < row.inputs.len() {
            self.ledger.set(&row.key, State::Uploading).await?;
            self.emit(Event::Started {
                key: row.key.clone(),
                step: Step::Upload,
            });
        }
        while row.file_ids.len() < row.inputs.len() {
            let path = &row.inputs[row.file_ids.len()];
            match self.client.files().upload(path).await {
                Ok(file) => {
                    row.file_ids.push(file.id.to_string());
                    self.ledger.uploaded_file(&row.key, &row.file_ids).await?;
                }
                Err(e) => {
                    self.fail(row, Step::Upload, e, State::Pending).await?;
                    return Ok(Outcome::Stop);
                }
            }
        }
        self.ledger.set(&row.key, State::Uploaded).await?;
        row.state = State::Uploaded;
        self.emit(Event::Uploaded {
            key: row.key.clone(),
            file_ids: row.file_ids.clone(),
        });
        Ok(Outcome::Done(()))
    }

    /// The job as it is sent: the item's mark in its name, its uploads as inputs.
    fn job_of(&self, row: &Row) -> NewJob {
        let mut job = row.job.clone();
        job.name.push_str(&mark(&self.ledger.batch_id, &row.key));
        if let Some(first) = job.job_analyses.first_mut() {
            for id in &row.file_ids {
                first.input_files.push(InputFile::new(id.clone()));
            }
        }
        job
    }

    async fn create(&self, row: &mut Row) -> Result<Outcome<()>, BatchError> {
        let job = self.job_of(row);
        let mut lost = None;
        for _ in 0..MAX_UNKNOWN {
            self.ledger.set(&row.key, State::Creating).await?;
            row.intent_at = Some(now_ms());
            self.emit(Event::Started {
                key: row.key.clone(),
                step: Step::Create,
            });
            match self.client.jobs().create(&job).await {
                Ok(created) => {
                    self.record_created(row, created.id.to_string()).await?;
                    return Ok(Outcome::Done(()));
                }
                Err(e) if e.is_outcome_unknown() => {
                    self.grace(row.intent_at, Step::Create, vec![row.key.clone()])
                        .await;
                    let keys = HashSet::from([row.key.clone()]);
                    let since = row.intent_at.unwrap_or(0);
                    let found: HashMap<String, String> =
                        match find_jobs(&self.client, &self.ledger.batch_id, &keys, since).await {
                            Ok(found) => found,
                            Err(lookup) => {
                                // Left as `creating`: the next run looks again.
                                self.emit(Event::Failed {
                                    key: row.key.clone(),
                                    step: Step::Create,
                                    error: Arc::new(lookup),
                                });
                                return Ok(Outcome::Stop);
                            }
                        };
                    self.settle_create(row, found.get(&row.key).cloned())
                        .await?;
                    if row.state == State::Created {
                        return Ok(Outcome::Done(()));
                    }
                    lost = Some(e);
                }
                Err(e) => {
                    self.fail(row, Step::Create, e, State::Uploaded).await?;
                    return Ok(Outcome::Stop);
                }
            }
        }
        // Several lost answers in a row: leave it `creating` for the next run to look up.
        self.ledger.set(&row.key, State::Creating).await?;
        self.gave_up(row, Step::Create, lost);
        Ok(Outcome::Stop)
    }

    async fn submit(&self, row: &mut Row) -> Result<(), BatchError> {
        let Some(job_id) = row.job_id.clone() else {
            return Ok(());
        };
        let mut unknown = row.state == State::Submitting;
        let mut lost = None;
        for _ in 0..MAX_UNKNOWN {
            if unknown {
                self.grace(row.intent_at, Step::Submit, vec![row.key.clone()])
                    .await;
                let happened = match was_submitted(&self.client, &job_id).await {
                    Ok(happened) => happened,
                    Err(e) => {
                        // Left as `submitting`: the next run looks again.
                        self.emit(Event::Failed {
                            key: row.key.clone(),
                            step: Step::Submit,
                            error: Arc::new(e),
                        });
                        return Ok(());
                    }
                };
                self.emit(Event::Reconciled {
                    key: row.key.clone(),
                    step: Step::Submit,
                    happened,
                });
                if happened {
                    return self.submitted(row, job_id).await;
                }
            }
            self.ledger.set(&row.key, State::Submitting).await?;
            row.intent_at = Some(now_ms());
            self.emit(Event::Started {
                key: row.key.clone(),
                step: Step::Submit,
            });
            match self.client.jobs().submit(&job_id).await {
                Ok(()) => return self.submitted(row, job_id).await,
                Err(e) if e.is_outcome_unknown() => {
                    unknown = true;
                    lost = Some(e);
                }
                Err(e) => return self.fail(row, Step::Submit, e, State::Created).await,
            }
        }
        // Several lost answers in a row: left `submitting` for the next run to look up.
        self.gave_up(row, Step::Submit, lost);
        Ok(())
    }

    /// After `MAX_UNKNOWN` lost answers in a row, the item waits for the next run: said
    /// with the last one, so that the run's summary counts it as failed.
    fn gave_up(&self, row: &Row, step: Step, lost: Option<rescale::Error>) {
        if let Some(error) = lost {
            self.emit(Event::Failed {
                key: row.key.clone(),
                step,
                error: Arc::new(error),
            });
        }
    }

    async fn submitted(&self, row: &mut Row, job_id: String) -> Result<(), BatchError> {
        self.ledger.set(&row.key, State::Submitted).await?;
        row.state = State::Submitted;
        self.emit(Event::Submitted {
            key: row.key.clone(),
            job_id,
        });
        Ok(())
    }
}

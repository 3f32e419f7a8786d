//! Waiting for a job: [`Jobs::wait_for_completion`], [`Jobs::watch`] and
//! [`Jobs::wait_for_cluster_stop`], all by polling the status histories.

use std::collections::{HashSet, VecDeque};
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt, stream};

use crate::error::{Error, Result};
use crate::jobs::{ClusterStatus, ClusterStatusEntry, JobStatusEntry, Jobs};
use crate::outcome::JobOutcome;
use crate::pagination::ItemStream;

/// Time between two polls unless told otherwise.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15);

/// Transient errors in a row (429, 5xx, timeouts, dropped connections) tolerated while
/// polling, unless told otherwise.
pub(crate) const DEFAULT_MAX_TRANSIENT_ERRORS: u32 = 5;

/// Statuses per page when reading a history: one page holds a whole job's life.
const HISTORY_PAGE_SIZE: u32 = 100;

/// How often to poll, for how long, and how many transient errors to bear.
#[derive(Debug, Clone)]
pub(crate) struct Polling {
    pub(crate) interval: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_transient_errors: u32,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: DEFAULT_POLL_INTERVAL,
            timeout: None,
            max_transient_errors: DEFAULT_MAX_TRANSIENT_ERRORS,
        }
    }
}

impl Polling {
    /// Counts `error` against the budget: `Ok` to poll again, `Err` to give up.
    pub(crate) fn tolerate(&self, error: Error, errors_in_a_row: &mut u32) -> Result<()> {
        let transient = error.is_retryable() || error.status().is_some_and(|s| s.is_server_error());
        if transient && *errors_in_a_row < self.max_transient_errors {
            *errors_in_a_row += 1;
            tracing::debug!(error = %error, "transient error while polling; polling again");
            Ok(())
        } else {
            Err(error)
        }
    }

    /// Runs `work` within the overall timeout, if one is set.
    pub(crate) async fn within<T>(
        &self,
        what: String,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, work)
                .await
                .map_err(|_| Error::Timeout(format!("{what} within {limit:?}")))?,
            None => work.await,
        }
    }
}

impl Jobs {
    /// Polls a job's status history until it reaches a final status and tells how it
    /// ended. Poll interval 15 s unless set; transient errors (429, 5xx, timeouts) are
    /// borne up to 5 in a row; statuses this crate does not know never end the wait.
    /// Dropping the future stops polling. A job that was never submitted has no status
    /// history: the wait goes on until it is submitted and finishes (a `warn` log line says
    /// so after two polls), so give it a [`timeout`](WaitForCompletion::timeout) when the
    /// submit may have failed.
    ///
    /// # Errors
    /// [`Error::Timeout`] when a [`timeout`](WaitForCompletion::timeout) was set and
    /// passed; the last error once more transient errors came in a row than
    /// [`max_transient_errors`](WaitForCompletion::max_transient_errors) allows; any other
    /// error of reading the history at once (a blank id, an unknown job, a refused key).
    /// A job that failed is not an error: it is [`JobOutcome::Failed`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rescale::JobOutcome;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let outcome = client
    ///     .jobs()
    ///     .wait_for_completion("LeeKa")
    ///     .poll_interval(Duration::from_secs(30))
    ///     .timeout(Duration::from_secs(6 * 3600))
    ///     .await?;
    /// match outcome {
    ///     JobOutcome::Succeeded { .. } => println!("done"),
    ///     JobOutcome::Failed { reason, .. } => eprintln!("failed: {reason}"),
    ///     JobOutcome::Stopped { reason, .. } => eprintln!("stopped: {reason}"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub fn wait_for_completion(&self, id: impl AsRef<str>) -> WaitForCompletion {
        WaitForCompletion {
            watch: self.watch(id),
        }
    }

    /// A stream of the job's status entries: each one once, oldest first, ending with
    /// the poll that first finds a final one (`Completed`, `Force Stop`): every new entry
    /// of that poll comes out, so a history that already holds several final entries
    /// ends with the newest, which is how the job ended. Entries already in the history
    /// come first. `Send + 'static`; dropping it stops polling. A non-transient error (or
    /// too many transient ones) is yielded and ends the stream.
    ///
    /// # Errors
    /// Yielded by the stream, as [`wait_for_completion`](Jobs::wait_for_completion)
    /// returns them.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let mut statuses = client.jobs().watch("LeeKa");
    /// while let Some(entry) = statuses.try_next().await? {
    ///     println!("{} {:?}", entry.status, entry.status_reason);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(&self, id: impl AsRef<str>) -> Watch {
        Watch {
            jobs: self.clone(),
            id: id.as_ref().to_owned(),
            polling: Polling::default(),
            stream: None,
        }
    }

    /// Polls the job's cluster status history until the cluster is `Stopped` (what
    /// [`delete`](Jobs::delete) needs) and returns that entry. While the service answers
    /// 404 for the cluster, the job itself is read: if it exists, its cluster does not yet
    /// and polling goes on (set a [`timeout`](ClusterStopWait::timeout) for a job that may
    /// never start); if it does not, the wait ends with that not-found error.
    ///
    /// # Errors
    /// [`Error::Timeout`] when a [`timeout`](ClusterStopWait::timeout) was set and passed;
    /// the last error once more transient errors came in a row than allowed; any other
    /// error of reading the cluster statuses, except 404, at once.
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let jobs = client.jobs();
    /// jobs.wait_for_cluster_stop("LeeKa").await?;
    /// jobs.delete("LeeKa").await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_for_cluster_stop(&self, id: impl AsRef<str>) -> ClusterStopWait {
        ClusterStopWait {
            jobs: self.clone(),
            id: id.as_ref().to_owned(),
            polling: Polling::default(),
        }
    }
}

impl Jobs {
    /// The job's whole status history, newest first.
    pub(crate) async fn history(&self, id: &str) -> Result<Vec<JobStatusEntry>> {
        let history = self.statuses(id).page_size(HISTORY_PAGE_SIZE).stream();
        history.try_collect().await
    }
}

/// Waits for a job to finish; from [`Jobs::wait_for_completion`]. `.await` it.
#[must_use = "waiting does nothing until it is awaited"]
#[derive(Debug)]
pub struct WaitForCompletion {
    watch: Watch,
}

impl WaitForCompletion {
    /// Time between polls (15 s by default).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.watch = self.watch.poll_interval(interval);
        self
    }

    /// Gives up with [`Error::Timeout`] after this long in all (no limit by default).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.watch.polling.timeout = Some(limit);
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default).
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.watch = self.watch.max_transient_errors(errors);
        self
    }

    async fn run(self) -> Result<JobOutcome> {
        let polling = self.watch.polling.clone();
        let what = format!("job `{}` did not finish", self.watch.id);
        let entries = self.watch;
        let work = async move {
            // Decided on the whole history read, as `from_history` (and so the fleet)
            // decides: when the poll that ends the watch holds several final entries, the
            // newest one is how the job ended.
            let mut history: Vec<JobStatusEntry> = entries.try_collect().await?;
            history.reverse();
            JobOutcome::from_history(&history).ok_or_else(|| {
                Error::Pagination("the status history ended without a final status".into())
            })
        };
        polling.within(what, work).await
    }
}

impl IntoFuture for WaitForCompletion {
    type Output = Result<JobOutcome>;
    type IntoFuture = BoxFuture<'static, Result<JobOutcome>>;

    fn into_future(self) -> Self::IntoFuture {
        self.run().boxed()
    }
}

/// A job's status entries as they happen; from [`Jobs::watch`]. A [`Stream`] of
/// `Result<JobStatusEntry>`, configured before it is first polled.
#[must_use = "a watch does nothing until it is polled"]
pub struct Watch {
    jobs: Jobs,
    id: String,
    polling: Polling,
    stream: Option<ItemStream<JobStatusEntry>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("id", &self.id)
            .field("polling", &self.polling)
            .field("started", &self.stream.is_some())
            .finish()
    }
}

impl Watch {
    /// Time between polls (15 s by default). No effect once the stream was polled.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.interval = interval;
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default).
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.polling.max_transient_errors = errors;
        self
    }
}

impl Stream for Watch {
    type Item = Result<JobStatusEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        poll_started(&mut this.stream, || {
            let source = WatchSource {
                jobs: this.jobs.clone(),
                id: this.id.clone(),
                seen: HashSet::new(),
                empty_polls: 0,
            };
            poll_stream(source, this.polling.clone())
        })
        .poll_next_unpin(cx)
    }
}

/// The stream in `slot`, started with `start` on first use: a polling stream is
/// configured with its builder methods, and starts when first polled.
pub(crate) fn poll_started<T>(
    slot: &mut Option<ItemStream<T>>,
    start: impl FnOnce() -> ItemStream<T>,
) -> &mut ItemStream<T> {
    slot.get_or_insert_with(start)
}

/// Identifies a history entry across polls.
type EntryKey = (String, Option<DateTime<Utc>>, Option<String>);

struct WatchSource {
    jobs: Jobs,
    id: String,
    seen: HashSet<EntryKey>,
    /// Polls in a row that found the history empty (a job not submitted).
    empty_polls: u32,
}

impl PollSource for WatchSource {
    type Item = JobStatusEntry;

    /// Queues the entries not seen before, oldest first: every one of them, so that a
    /// history that already holds several final entries is seen whole; done once one of
    /// them is final.
    async fn poll_once(&mut self, queue: &mut VecDeque<JobStatusEntry>) -> Result<bool> {
        let newest_first = self.jobs.history(&self.id).await?;
        self.empty_polls = if newest_first.is_empty() {
            self.empty_polls.saturating_add(1)
        } else {
            0
        };
        if self.empty_polls == POLLS_BEFORE_NOT_SUBMITTED {
            warn_not_submitted(&self.id);
        }
        let mut done = false;
        for entry in newest_first.into_iter().rev() {
            let key = (
                entry.status.as_str().to_owned(),
                entry.status_date,
                entry.status_reason.clone(),
            );
            if self.seen.insert(key) {
                done |= entry.status.is_final();
                queue.push_back(entry);
            }
        }
        Ok(done)
    }
}

/// Polls in a row at which a job shows no sign of being submitted before it is said (the
/// first may come right after a submit).
pub(crate) const POLLS_BEFORE_NOT_SUBMITTED: u32 = 2;

/// The log line of a job waited for that shows no sign of being submitted.
pub(crate) fn warn_not_submitted(id: &str) {
    tracing::warn!(
        job = %id,
        "the job shows no sign of being submitted (no status) at two polls in a row: it is waited for until it is"
    );
}

/// One poll of a polling stream ([`Watch`], [`Follow`](crate::Follow)).
pub(crate) trait PollSource: Send + 'static {
    /// What the stream yields.
    type Item: Send + 'static;

    /// Polls once and queues what is new, oldest first; `Ok(true)` when nothing will come
    /// after it. An error is counted against the transient-error budget.
    fn poll_once(
        &mut self,
        queue: &mut VecDeque<Self::Item>,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// The stream of what `source` finds, polled every `polling.interval`: each transient
/// error is borne up to the budget; another error is yielded and ends the stream.
pub(crate) fn poll_stream<S: PollSource>(source: S, polling: Polling) -> ItemStream<S::Item> {
    struct State<S: PollSource> {
        source: S,
        polling: Polling,
        queue: VecDeque<S::Item>,
        polled: bool,
        finished: bool,
    }
    let state = State {
        source,
        polling,
        queue: VecDeque::new(),
        polled: false,
        finished: false,
    };
    stream::unfold(state, |mut s| async move {
        let mut errors = 0;
        loop {
            if let Some(item) = s.queue.pop_front() {
                return Some((Ok(item), s));
            }
            if s.finished {
                return None;
            }
            if s.polled {
                tokio::time::sleep(s.polling.interval).await;
            }
            s.polled = true;
            match s.source.poll_once(&mut s.queue).await {
                Ok(done) => {
                    errors = 0;
                    s.finished = done;
                }
                Err(e) => {
                    if let Err(e) = s.polling.tolerate(e, &mut errors) {
                        s.finished = true;
                        s.queue.clear();
                        return Some((Err(e), s));
                    }
                }
            }
        }
    })
    .boxed()
}

/// Waits for a job's cluster to stop; from [`Jobs::wait_for_cluster_stop`]. `.await` it.
#[must_use = "waiting does nothing until it is awaited"]
#[derive(Debug)]
pub struct ClusterStopWait {
    jobs: Jobs,
    id: String,
    polling: Polling,
}

impl ClusterStopWait {
    /// Time between polls (15 s by default).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.interval = interval;
        self
    }

    /// Gives up with [`Error::Timeout`] after this long in all (no limit by default).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.polling.timeout = Some(limit);
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default).
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.polling.max_transient_errors = errors;
        self
    }

    async fn run(self) -> Result<ClusterStatusEntry> {
        let what = format!("the cluster of job `{}` did not stop", self.id);
        let polling = self.polling.clone();
        let work = async move {
            let mut errors = 0;
            loop {
                let page = self
                    .jobs
                    .cluster_statuses(&self.id)
                    .page_size(HISTORY_PAGE_SIZE)
                    .page(1)
                    .await;
                match page {
                    Ok(page) => {
                        errors = 0;
                        // Newest first: the first entry is the cluster's state now.
                        if let Some(now) = page.results.into_iter().next()
                            && now.status == ClusterStatus::Stopped
                        {
                            return Ok(now);
                        }
                    }
                    // No cluster yet, if the job exists: a mistyped or deleted id would
                    // otherwise be polled for ever.
                    Err(e) if e.is_not_found() => match self.jobs.get(&self.id).await {
                        Ok(_) => errors = 0,
                        Err(e) if e.is_not_found() => return Err(e),
                        Err(e) => self.polling.tolerate(e, &mut errors)?,
                    },
                    Err(e) => self.polling.tolerate(e, &mut errors)?,
                }
                tokio::time::sleep(self.polling.interval).await;
            }
        };
        polling.within(what, work).await
    }
}

impl IntoFuture for ClusterStopWait {
    type Output = Result<ClusterStatusEntry>;
    type IntoFuture = BoxFuture<'static, Result<ClusterStatusEntry>>;

    fn into_future(self) -> Self::IntoFuture {
        self.run().boxed()
    }
}

//! Watching many jobs through one list-and-poll loop: [`Jobs::watch_many`] and
//! [`Jobs::wait_for_all`].
//!
//! One loop reads the list of unfinished jobs (`GET jobs/?state=not_completed`, 1000 per
//! page) each interval instead of one status history per job, and reads a job's history
//! only once it has left that list, to decide its [`JobOutcome`] by the rules of
//! [`Jobs::wait_for_completion`]. A poll costs ceil(unfinished jobs / 1000) list requests
//! (every unfinished job of the account counts, watched or not), plus one history read per
//! watched job missing from the list. Past 1000 unfinished jobs the pages are read at once
//! (see [`ListRequest::concurrency`](crate::ListRequest::concurrency)): when jobs were
//! submitted while they were read, the rest are read again one after another (up to 9
//! requests more), and a job that moved between pages costs a history read. A last page
//! that links nowhere but repeats a job (cut short by a submission) costs one page more,
//! and a page past the end costs the first page again
//! (see [`ListRequest::concurrency`](crate::ListRequest::concurrency)).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt, stream};

use crate::error::{Error, Result};
use crate::jobs::{JobId, JobState, JobStatus, Jobs, check_id};
use crate::outcome::JobOutcome;
use crate::pagination::{ItemStream, LARGEST_PAGE_SIZE};
use crate::wait::Polling;

/// Histories read at once when several watched jobs left the list in the same poll.
const HISTORY_READS_IN_FLIGHT: usize = 8;

/// What happened to a watched job, as [`Fleet`] yields it. Within one poll the status
/// changes (and the jobs listed as not submitted) come first, then the jobs found finished
/// (or missing and not submitted), each group in the order the ids were given.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent {
    /// The job's status, as the job list shows it, is new: its first sighting, or a
    /// change since the previous poll. Statuses a job passed through between two polls
    /// are not seen.
    Status {
        /// The job.
        id: JobId,
        /// Its status now.
        status: JobStatus,
    },
    /// The job is over for the fleet: it left the list of unfinished jobs and its history
    /// ends in a final status (`Ok`, decided as [`Jobs::wait_for_completion`] does), or
    /// it cannot be followed (`Err`): it does not exist or was deleted (`is_not_found()`),
    /// its history could not be read, or it failed too many times in a row.
    Finished {
        /// The job.
        id: JobId,
        /// How it ended, or why it cannot be told.
        outcome: Result<JobOutcome>,
    },
    /// The job showed no sign of being submitted at two polls in a row: it is listed with
    /// an empty status, or missing from the list with an empty status history. It was
    /// never submitted (the API reference says only that such a job's list status may be
    /// `""`; an empty history is this crate's reading of it, and what `rescale-fake`
    /// shows). Yielded once. It stays watched, as it may yet be submitted (by this process
    /// or another): a fleet waiting for a job that nobody submits does not end by itself.
    /// Submit the job, or stop waiting for it (drop the stream, or give `wait_for_all` a
    /// timeout).
    NotSubmitted {
        /// The job.
        id: JobId,
    },
}

impl Jobs {
    /// Watches many jobs with one polling loop: a [`Stream`] of [`FleetEvent`]s, each
    /// watched job's status changes as the job list shows them, then one
    /// [`Finished`](FleetEvent::Finished) per job, after which the stream ends.
    ///
    /// Each poll (every 15 s unless set) reads the unfinished jobs (`state=not_completed`,
    /// 1000 per page); jobs the caller does not watch are ignored. A watched job missing
    /// from the list (finished, deleted, never existed, or moved between pages while the
    /// list was read) has its status history read: a final status finishes it, a 404
    /// finishes it with that error, and anything else keeps it watched; an empty history
    /// (a job never submitted) is told once, as [`NotSubmitted`](FleetEvent::NotSubmitted). Transient errors
    /// (429, 5xx, timeouts) are borne up to 5 in a row, for the list and for each job's
    /// history (a job seen in the list starts its count again), and so is a list that
    /// changed under its read more than the read can follow ([`Error::Pagination`]); any
    /// other error of the list is yielded and ends the stream. An id
    /// that is blank is an error before anything is sent. Dropping the stream stops polling.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use rescale::FleetEvent;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let mut fleet = client.jobs().watch_many(["LeeKa", "OsKBd"]);
    /// while let Some(event) = fleet.try_next().await? {
    ///     match event {
    ///         FleetEvent::Status { id, status } => println!("{id}: {status}"),
    ///         FleetEvent::Finished { id, outcome } => println!("{id}: {outcome:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch_many<I>(&self, ids: I) -> Fleet
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Fleet {
            jobs: self.clone(),
            ids: ids.into_iter().map(|id| id.as_ref().to_owned()).collect(),
            polling: Polling::default(),
            stream: None,
        }
    }

    /// Waits for every job to finish, with one polling loop ([`watch_many`](Jobs::watch_many)):
    /// `.await` it for a map of every job's outcome, or take
    /// [`stream`](WaitForAll::stream) for the outcomes in the order the jobs finish.
    /// A job that cannot be followed (deleted, unknown id) has an `Err` outcome and does
    /// not hold up the others.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let outcomes = client
    ///     .jobs()
    ///     .wait_for_all(["LeeKa", "OsKBd"])
    ///     .poll_interval(Duration::from_secs(30))
    ///     .await?;
    /// for (id, outcome) in &outcomes {
    ///     match outcome {
    ///         Ok(outcome) if outcome.is_success() => println!("{id}: done"),
    ///         Ok(outcome) => println!("{id}: {}", outcome.reason().unwrap_or("")),
    ///         Err(e) => println!("{id}: {e}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn wait_for_all<I>(&self, ids: I) -> WaitForAll
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        WaitForAll {
            fleet: self.watch_many(ids),
        }
    }
}

/// Many jobs watched through one polling loop; from [`Jobs::watch_many`]. A [`Stream`] of
/// `Result<FleetEvent>`, configured before it is first polled.
#[must_use = "a fleet does nothing until it is polled"]
pub struct Fleet {
    jobs: Jobs,
    ids: Vec<String>,
    polling: Polling,
    stream: Option<ItemStream<FleetEvent>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("jobs", &self.ids.len())
            .field("polling", &self.polling)
            .field("started", &self.stream.is_some())
            .finish()
    }
}

impl Fleet {
    /// Time between polls (15 s by default). No effect once the stream was polled.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.interval = interval;
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default), for the list
    /// and for each job's history.
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.polling.max_transient_errors = errors;
        self
    }

    fn start(&self) -> ItemStream<FleetEvent> {
        let mut state = FleetState {
            jobs: self.jobs.clone(),
            polling: self.polling.clone(),
            order: Vec::new(),
            watched: HashMap::new(),
            queue: VecDeque::new(),
            polled: false,
            list_errors: 0,
            over: false,
        };
        let mut unique = HashSet::new();
        for id in &self.ids {
            if let Err(invalid) = check_id("ids", id) {
                let error: Error = invalid.into();
                return stream::iter([Err(error)]).boxed();
            }
            if unique.insert(id.clone()) {
                state.order.push(JobId::new(id.clone()));
            }
        }
        state.watched = state
            .order
            .iter()
            .map(|id| (id.clone(), Tracked::default()))
            .collect();
        stream::unfold(state, |mut state| async move {
            let next = state.next().await?;
            Some((next, state))
        })
        .boxed()
    }
}

impl Stream for Fleet {
    type Item = Result<FleetEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stream.is_none() {
            self.stream = Some(self.start());
        }
        match self.stream.as_mut() {
            Some(stream) => stream.poll_next_unpin(cx),
            None => Poll::Ready(None),
        }
    }
}

/// What the fleet knows of a watched, unfinished job.
#[derive(Debug, Default)]
struct Tracked {
    /// Its status at the last poll that listed it.
    status: Option<JobStatus>,
    /// Transient errors in a row reading its history.
    errors: u32,
    /// Polls in a row at which it showed no sign of being submitted.
    unsubmitted_polls: u32,
    /// [`FleetEvent::NotSubmitted`] was yielded for it.
    told_not_submitted: bool,
}

struct FleetState {
    jobs: Jobs,
    polling: Polling,
    /// The watched ids in the caller's order, for events in a stable order.
    order: Vec<JobId>,
    /// The watched jobs not finished yet.
    watched: HashMap<JobId, Tracked>,
    queue: VecDeque<FleetEvent>,
    polled: bool,
    list_errors: u32,
    over: bool,
}

impl FleetState {
    /// The next event, polling until there is one.
    async fn next(&mut self) -> Option<Result<FleetEvent>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(Ok(event));
            }
            if self.over || self.watched.is_empty() {
                return None;
            }
            if self.polled {
                tokio::time::sleep(self.polling.interval).await;
            }
            self.polled = true;
            if let Err(e) = self.poll().await {
                self.over = true;
                return Some(Err(e));
            }
        }
    }

    /// One poll: the list of unfinished jobs, then the histories of watched jobs missing
    /// from it. `Err` ends the fleet.
    async fn poll(&mut self) -> Result<()> {
        let listed = self
            .jobs
            .list()
            .state(JobState::NotCompleted)
            .page_size(LARGEST_PAGE_SIZE)
            .stream()
            .try_filter(|job| std::future::ready(self.watched.contains_key(&job.id)))
            .map_ok(|job| {
                let status = job.status();
                (job.id, status)
            })
            .try_collect::<HashMap<JobId, Option<JobStatus>>>()
            .await;
        let listed = match listed {
            Ok(listed) => listed,
            // Without the whole list, a missing job says nothing: poll again later.
            Err(e) => return self.list_failed(e),
        };
        self.list_errors = 0;
        let mut missing = Vec::new();
        for id in &self.order {
            let Some(tracked) = self.watched.get_mut(id) else {
                continue;
            };
            match listed.get(id) {
                // Listed with an empty status: not submitted (yet). Its history was not
                // needed, so its errors are no longer in a row.
                Some(None) => {
                    tracked.errors = 0;
                    self.queue.extend(tracked.unsubmitted(id));
                }
                Some(status) if !status.as_ref().is_some_and(JobStatus::is_final) => {
                    tracked.errors = 0;
                    tracked.unsubmitted_polls = 0;
                    if let Some(now) = status
                        && tracked.status.as_ref() != Some(now)
                    {
                        tracked.status = Some(now.clone());
                        self.queue.push_back(FleetEvent::Status {
                            id: id.clone(),
                            status: now.clone(),
                        });
                    }
                }
                _ => missing.push(id.clone()),
            }
        }
        let jobs = self.jobs.clone();
        let mut histories = stream::iter(missing)
            .map(|id| {
                let jobs = jobs.clone();
                async move {
                    let history = jobs.history(id.as_str()).await;
                    (id, history)
                }
            })
            .buffered(HISTORY_READS_IN_FLIGHT);
        while let Some((id, history)) = histories.next().await {
            let outcome = match history {
                Ok(history) => match JobOutcome::from_history(&history) {
                    Some(outcome) => Ok(outcome),
                    // Not finished after all: the list moved while it was read, or the
                    // job was not submitted (no history). Watched on.
                    None => {
                        self.forgive(&id, history.is_empty());
                        continue;
                    }
                },
                Err(e) if e.is_not_found() => Err(e),
                Err(e) => match self.watched.get_mut(&id) {
                    Some(tracked) => match self.polling.tolerate(e, &mut tracked.errors) {
                        Ok(()) => continue,
                        Err(e) => Err(e),
                    },
                    None => continue,
                },
            };
            self.watched.remove(&id);
            self.queue.push_back(FleetEvent::Finished { id, outcome });
        }
        Ok(())
    }

    /// A read of the list that failed: polled again while the errors in a row are within
    /// the budget, if transient, or if the list changed under the read more than it can
    /// follow ([`Error::Pagination`]: the next poll reads it afresh); `Err` ends the fleet.
    fn list_failed(&mut self, e: Error) -> Result<()> {
        if matches!(e, Error::Pagination(_)) && self.list_errors < self.polling.max_transient_errors
        {
            self.list_errors += 1;
            tracing::debug!(error = %e, "the list changed under its read; polling again");
            return Ok(());
        }
        self.polling.tolerate(e, &mut self.list_errors)
    }

    /// A successful read of a job's history resets its count of errors in a row; an
    /// empty one (`not_submitted`) counts towards [`FleetEvent::NotSubmitted`].
    fn forgive(&mut self, id: &JobId, not_submitted: bool) {
        if let Some(tracked) = self.watched.get_mut(id) {
            tracked.errors = 0;
            if not_submitted {
                self.queue.extend(tracked.unsubmitted(id));
            } else {
                tracked.unsubmitted_polls = 0;
            }
        }
    }
}

impl Tracked {
    /// One more poll at which the job showed no sign of being submitted: the event (and
    /// a log line) when that makes it time to tell, once.
    fn unsubmitted(&mut self, id: &JobId) -> Option<FleetEvent> {
        self.unsubmitted_polls = self.unsubmitted_polls.saturating_add(1);
        if self.unsubmitted_polls < crate::wait::POLLS_BEFORE_NOT_SUBMITTED
            || std::mem::replace(&mut self.told_not_submitted, true)
        {
            return None;
        }
        crate::wait::warn_not_submitted(id.as_str());
        Some(FleetEvent::NotSubmitted { id: id.clone() })
    }
}

/// Waits for many jobs to finish; from [`Jobs::wait_for_all`]. `.await` it for a map of
/// outcomes, or take [`stream`](WaitForAll::stream).
#[must_use = "waiting does nothing until it is awaited"]
#[derive(Debug)]
pub struct WaitForAll {
    fleet: Fleet,
}

impl WaitForAll {
    /// Time between polls (15 s by default).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.fleet = self.fleet.poll_interval(interval);
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default).
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.fleet = self.fleet.max_transient_errors(errors);
        self
    }

    /// Gives up with [`Error::Timeout`] after this long in all (no limit by default);
    /// applies when awaited, not to [`stream`](WaitForAll::stream).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.fleet.polling.timeout = Some(limit);
        self
    }

    /// Each job's outcome as it finishes: `(id, outcome)`, in finishing order (jobs
    /// found finished in the same poll come in the order they were given). An `Err`
    /// item is an error of the fleet itself (the list could not be read) and ends the
    /// stream.
    pub fn stream(self) -> ItemStream<(JobId, Result<JobOutcome>)> {
        self.fleet
            .filter_map(|event| {
                std::future::ready(match event {
                    Ok(FleetEvent::Finished { id, outcome }) => Some(Ok((id, outcome))),
                    Ok(FleetEvent::Status { .. } | FleetEvent::NotSubmitted { .. }) => None,
                    Err(e) => Some(Err(e)),
                })
            })
            .boxed()
    }

    async fn run(self) -> Result<BTreeMap<JobId, Result<JobOutcome>>> {
        let polling = self.fleet.polling.clone();
        let what = format!("{} jobs did not all finish", self.fleet.ids.len());
        polling.within(what, self.stream().try_collect()).await
    }
}

impl IntoFuture for WaitForAll {
    type Output = Result<BTreeMap<JobId, Result<JobOutcome>>>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.run().boxed()
    }
}

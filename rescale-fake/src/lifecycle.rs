//! The clock a submitted job runs on: its job and cluster status histories, laid out in
//! advance at submit (and re-laid at stop), and read by filtering on the current instant.
//! Nothing needs to run for a job to progress.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub const COMPLETED: &str = "Completed";
pub const STOPPED: &str = "Stopped";
pub const EXECUTING: &str = "Executing";

/// One status history entry as answered.
#[derive(Clone, Copy, Debug)]
pub struct Status {
    pub date: DateTime<Utc>,
    pub status: &'static str,
    pub reason: Option<&'static str>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    due: Instant,
    status: Status,
}

/// The laid-out histories of a submitted job.
#[derive(Debug)]
pub struct Timeline {
    job: Vec<Entry>,
    cluster: Vec<Entry>,
    /// Whether the outputs of the completed job have been created.
    pub outputs_done: bool,
}

fn at(
    now: Instant,
    date: DateTime<Utc>,
    step: Duration,
    n: u32,
    status: &'static str,
    reason: Option<&'static str>,
) -> Entry {
    let offset = step * n;
    Entry {
        due: now + offset,
        status: Status {
            date: date + chrono::Duration::from_std(offset).unwrap_or_default(),
            status,
            reason,
        },
    }
}

impl Timeline {
    /// The life of a job submitted at `now`: one status per `step`.
    pub fn submit(now: Instant, date: DateTime<Utc>, step: Duration, fails: bool) -> Timeline {
        let e = |n, s, r| at(now, date, step, n, s, r);
        let mut job = vec![
            e(0, "Pending", None),
            e(1, "Waiting for Queue", None),
            e(2, "Queued", None),
            e(3, "Started", None),
            e(4, "Validated", None),
            e(5, EXECUTING, None),
        ];
        let done = if fails {
            job.push(e(6, "Stopping", None));
            job.push(e(7, COMPLETED, Some("A run failed")));
            7
        } else {
            job.push(e(6, COMPLETED, Some("Completed successfully")));
            6
        };
        let cluster = vec![
            e(0, "Not Started", None),
            e(1, "Starting", None),
            e(3, "Started", None),
            e(done, "Stop Requested", None),
            e(done + 1, "Stopping", None),
            e(done + 2, STOPPED, None),
        ];
        Timeline {
            job,
            cluster,
            outputs_done: false,
        }
    }

    /// The life of a job submitted at `now` that executes for `executing` (a solver run
    /// by `FakeRescale::start_solver`): Executing after five steps, then Completed.
    pub fn solver(
        now: Instant,
        date: DateTime<Utc>,
        step: Duration,
        executing: Duration,
    ) -> Timeline {
        let mut t = Timeline::submit(now, date, step, false);
        let end = step * 5 + executing;
        t.job.truncate(6);
        t.cluster.truncate(3);
        t.finish(
            now + end,
            date + chrono::Duration::from_std(end).unwrap_or_default(),
            step,
        );
        t
    }

    /// Ends the execution at `at` (a run stopped): Completed then, the cluster stopping
    /// after it. No effect once completed.
    pub fn finish(&mut self, at: Instant, date: DateTime<Utc>, step: Duration) {
        if self.is_completed(at) {
            return;
        }
        self.job.retain(|e| e.due <= at);
        self.cluster.retain(|e| e.due <= at);
        let e = |n, s, r| self::at(at, date, step, n, s, r);
        self.job
            .push(e(0, COMPLETED, Some("Completed successfully")));
        self.cluster.push(e(0, "Stop Requested", None));
        self.cluster.push(e(1, "Stopping", None));
        self.cluster.push(e(2, STOPPED, None));
    }

    /// A user stop at `now`: what has not happened yet is replaced by Stopping, then
    /// Completed ("User Terminated"); the cluster stops. No effect once completed.
    pub fn stop(&mut self, now: Instant, date: DateTime<Utc>, step: Duration) {
        let already = self
            .job
            .last()
            .is_some_and(|e| e.status.reason == Some("User Terminated"));
        if already || self.is_completed(now) {
            return;
        }
        self.job.retain(|e| e.due <= now);
        self.cluster.retain(|e| e.due <= now);
        let e = |n, s, r| at(now, date, step, n, s, r);
        if self
            .job
            .last()
            .is_none_or(|l| l.status.status != "Stopping")
        {
            self.job.push(e(0, "Stopping", None));
        }
        self.job.push(e(1, COMPLETED, Some("User Terminated")));
        let stopping = self
            .cluster
            .last()
            .is_some_and(|c| matches!(c.status.status, "Stop Requested" | "Stopping"));
        if !stopping {
            self.cluster.push(e(0, "Stop Requested", None));
        }
        self.cluster.push(e(1, "Stopping", None));
        self.cluster.push(e(2, STOPPED, None));
    }

    /// Job statuses that have happened by `now`, oldest first.
    pub fn job_history(&self, now: Instant) -> Vec<Status> {
        visible(&self.job, now)
    }

    /// Cluster statuses that have happened by `now`, oldest first.
    pub fn cluster_history(&self, now: Instant) -> Vec<Status> {
        visible(&self.cluster, now)
    }

    /// The latest job status by `now`.
    pub fn job_current(&self, now: Instant) -> Option<Status> {
        last_visible(&self.job, now)
    }

    /// The latest cluster status by `now`.
    pub fn cluster_current(&self, now: Instant) -> Option<Status> {
        last_visible(&self.cluster, now)
    }

    /// Whether the job has reached Completed by `now`.
    pub fn is_completed(&self, now: Instant) -> bool {
        self.job_current(now).is_some_and(|s| s.status == COMPLETED)
    }
}

/// Every status and reason a history can hold, to read a saved one back.
const NAMES: &[&str] = &[
    "Pending",
    "Waiting for Queue",
    "Queued",
    "Started",
    "Validated",
    EXECUTING,
    "Stopping",
    COMPLETED,
    "Not Started",
    "Starting",
    "Stop Requested",
    STOPPED,
    "Completed successfully",
    "A run failed",
    "User Terminated",
];

/// The `'static` spelling of a saved status or reason; `None` for an unknown one.
pub fn known(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == name)
}

impl Timeline {
    /// Every laid-out entry, past and future, for saving: `(job, cluster)`.
    pub fn all_entries(&self) -> (Vec<Status>, Vec<Status>) {
        let statuses = |v: &[Entry]| v.iter().map(|e| e.status).collect();
        (statuses(&self.job), statuses(&self.cluster))
    }

    /// A timeline read back from saved entries: each falls due when the wall clock reaches
    /// its date, reading the wall clock as `date_now` at `now`.
    pub fn restore(
        job: Vec<Status>,
        cluster: Vec<Status>,
        now: Instant,
        date_now: DateTime<Utc>,
    ) -> Timeline {
        let due = |status: Status| Entry {
            due: instant_of(status.date, now, date_now),
            status,
        };
        Timeline {
            job: job.into_iter().map(due).collect(),
            cluster: cluster.into_iter().map(due).collect(),
            outputs_done: false,
        }
    }
}

fn visible(entries: &[Entry], now: Instant) -> Vec<Status> {
    entries
        .iter()
        .take_while(|e| e.due <= now)
        .map(|e| e.status)
        .collect()
}

fn last_visible(entries: &[Entry], now: Instant) -> Option<Status> {
    entries
        .iter()
        .take_while(|e| e.due <= now)
        .last()
        .map(|e| e.status)
}

/// The histories of a seeded job: completed successfully a few minutes after insertion.
pub fn seeded_histories(inserted: DateTime<Utc>) -> (Vec<Status>, Vec<Status>) {
    let s = |mins: i64, status, reason| Status {
        date: inserted + chrono::Duration::seconds(mins * 60 + 1),
        status,
        reason,
    };
    let job = vec![
        s(0, "Pending", None),
        s(1, "Waiting for Queue", None),
        s(2, "Queued", None),
        s(3, "Started", None),
        s(4, "Validated", None),
        s(5, EXECUTING, None),
        s(6, COMPLETED, Some("Completed successfully")),
    ];
    let cluster = vec![
        s(0, "Not Started", None),
        s(1, "Starting", None),
        s(3, "Started", None),
        s(6, "Stop Requested", None),
        s(7, "Stopping", None),
        s(8, STOPPED, None),
    ];
    (job, cluster)
}

/// The instant of wall-clock `date`, given that `now` is `date_now` (`now` itself when
/// `date` is further back than the clock can go).
pub fn instant_of(date: DateTime<Utc>, now: Instant, date_now: DateTime<Utc>) -> Instant {
    match (date - date_now).to_std() {
        Ok(ahead) => now + ahead,
        Err(_) => (date_now - date)
            .to_std()
            .ok()
            .and_then(|back| now.checked_sub(back))
            .unwrap_or(now),
    }
}

/// The wall-clock date of `at`, given that `now` is `date_now`.
pub fn date_of(at: Instant, now: Instant, date_now: DateTime<Utc>) -> DateTime<Utc> {
    let delta = |d: Duration| chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
    match at.checked_duration_since(now) {
        Some(ahead) => date_now + delta(ahead),
        None => date_now - delta(now.duration_since(at)),
    }
}

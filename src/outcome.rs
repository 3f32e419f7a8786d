//! How a job ended: [`JobOutcome`], decided from its status history.

#[cfg(doc)]
use crate::jobs::Jobs;
use crate::jobs::{JobStatus, JobStatusEntry};

/// How a job ended, decided from its status history by the platform's rules: a failed
/// job still ends `Completed`, so the reason and the history tell.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobOutcome {
    /// `Completed` with no sign of failure.
    Succeeded {
        /// The final status entry.
        status: JobStatusEntry,
    },
    /// `Completed` after a `Stopping` entry, or with a reason such as `A run failed`,
    /// `Exceeded max number of restarts` or `Could not allocate compute resources ...`.
    Failed {
        /// Why, from the final entry (or a description when it gives none).
        reason: String,
        /// The final status entry.
        status: JobStatusEntry,
    },
    /// `Force Stop`, or `Completed` with reason `User Terminated`.
    Stopped {
        /// Why, from the final entry (or a description when it gives none).
        reason: String,
        /// The final status entry.
        status: JobStatusEntry,
    },
}

/// Reasons of a `Completed` entry that mean the job failed (compared ignoring case).
const FAILURE_REASONS: [&str; 3] = [
    "a run failed",
    "exceeded max number of restarts",
    "could not allocate compute resources",
];

/// `succeeded`, `failed: <reason>` or `stopped: <reason>`.
///
/// ```
/// use rescale::JobOutcome;
/// use rescale::jobs::JobStatusEntry;
/// let history: Vec<JobStatusEntry> = serde_json::from_str(
///     r#"[{"status": "Completed", "statusDate": null, "statusReason": "A run failed"}]"#,
/// ).unwrap();
/// assert_eq!(JobOutcome::from_history(&history).unwrap().to_string(), "failed: A run failed");
/// ```
impl std::fmt::Display for JobOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobOutcome::Succeeded { .. } => f.write_str("succeeded"),
            JobOutcome::Failed { reason, .. } => write!(f, "failed: {reason}"),
            JobOutcome::Stopped { reason, .. } => write!(f, "stopped: {reason}"),
        }
    }
}

impl JobOutcome {
    /// The outcome of a history as [`Jobs::statuses`] returns it (newest first), or
    /// `None` while the job has not reached a final status (`Completed`, `Force Stop`).
    /// Unknown statuses are never final. Of several final entries, the newest is how the
    /// job ended ([`Jobs::wait_for_completion`] and the fleet decide so too).
    ///
    /// ```
    /// use rescale::JobOutcome;
    /// use rescale::jobs::JobStatusEntry;
    /// let history: Vec<JobStatusEntry> = serde_json::from_str(r#"[
    ///   {"status": "Completed", "statusDate": null, "statusReason": "A run failed"},
    ///   {"status": "Executing", "statusDate": null, "statusReason": null}
    /// ]"#).unwrap();
    /// let outcome = JobOutcome::from_history(&history).unwrap();
    /// assert!(!outcome.is_success());
    /// assert_eq!(outcome.reason(), Some("A run failed"));
    /// ```
    pub fn from_history(newest_first: &[JobStatusEntry]) -> Option<JobOutcome> {
        let (at, last) = newest_first
            .iter()
            .enumerate()
            .find(|(_, e)| e.status.is_final())?;
        // A `Stopping` before the final entry: after it in the list, or dated no later
        // than it (the service orders entries of one moment either way).
        let stopping = newest_first.iter().enumerate().any(|(i, e)| {
            e.status == JobStatus::Stopping
                && (i > at
                    || matches!((e.status_date, last.status_date), (Some(s), Some(f)) if s <= f))
        });
        Some(Self::decide(last.clone(), stopping))
    }

    /// The outcome of a final entry, given whether a `Stopping` entry came before it.
    fn decide(status: JobStatusEntry, saw_stopping: bool) -> JobOutcome {
        let reason = status
            .status_reason
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let lower = reason.to_lowercase();
        let or = |fallback: &str| {
            if reason.is_empty() {
                fallback.to_owned()
            } else {
                reason.clone()
            }
        };
        if status.status == JobStatus::ForceStop {
            return JobOutcome::Stopped {
                reason: or("Force Stop"),
                status,
            };
        }
        if lower.contains("user terminated") {
            return JobOutcome::Stopped {
                reason: or("User Terminated"),
                status,
            };
        }
        if saw_stopping || FAILURE_REASONS.iter().any(|r| lower.contains(r)) {
            return JobOutcome::Failed {
                reason: or("the job was stopping before it completed"),
                status,
            };
        }
        JobOutcome::Succeeded { status }
    }

    /// `true` for [`JobOutcome::Succeeded`].
    pub fn is_success(&self) -> bool {
        matches!(self, JobOutcome::Succeeded { .. })
    }

    /// The final status entry.
    pub fn status(&self) -> &JobStatusEntry {
        match self {
            JobOutcome::Succeeded { status }
            | JobOutcome::Failed { status, .. }
            | JobOutcome::Stopped { status, .. } => status,
        }
    }

    /// Why the job failed or stopped; `None` for a success.
    pub fn reason(&self) -> Option<&str> {
        match self {
            JobOutcome::Succeeded { .. } => None,
            JobOutcome::Failed { reason, .. } | JobOutcome::Stopped { reason, .. } => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(entries: &[(&str, &str)]) -> Vec<JobStatusEntry> {
        let entries: Vec<serde_json::Value> = entries
            .iter()
            .map(|(s, d)| serde_json::json!({"status": s, "statusDate": d, "statusReason": null}))
            .collect();
        serde_json::from_value(serde_json::Value::Array(entries)).unwrap()
    }

    #[test]
    fn a_stopping_of_the_same_moment_as_the_final_entry_counts_in_either_order() {
        let (t0, t1) = ("2016-04-21T17:00:00Z", "2016-04-21T17:05:00Z");
        // The service orders entries of one moment either way; a watch that saw
        // `Stopping` a poll earlier lists it after `Completed`.
        for served in [
            [("Stopping", t1), ("Completed", t1), ("Executing", t0)],
            [("Completed", t1), ("Stopping", t1), ("Executing", t0)],
        ] {
            let outcome = JobOutcome::from_history(&history(&served)).unwrap();
            assert!(!outcome.is_success(), "{served:?}: {outcome}");
        }
        // A `Stopping` later than the final entry is not how it ended.
        let later = history(&[("Stopping", t1), ("Completed", t0)]);
        assert!(JobOutcome::from_history(&later).unwrap().is_success());
    }
}

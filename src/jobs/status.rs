//! Job and cluster statuses: the enums, the list's display objects, and history entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use crate::serde_util::null_as_default;

string_enum! {
    /// A job status. Decodes both the display form (`Waiting for Queue`) and the upper-case
    /// form list filters use (`WAITING_FOR_QUEUE`).
    ///
    /// A failed job still ends in `Completed`: look at the reason and the history.
    pub enum JobStatus {
        /// Saved, submitted, not yet queued.
        Pending => "Pending",
        /// Waiting for a place in the queue.
        WaitingForQueue => "Waiting for Queue",
        /// Queued.
        Queued => "Queued",
        /// Hardware is starting.
        Started => "Started",
        /// Inputs validated.
        Validated => "Validated",
        /// Running.
        Executing => "Executing",
        /// Finished, successfully or not.
        Completed => "Completed",
        /// Being stopped (also seen before a failed job completes).
        Stopping => "Stopping",
        /// Waiting for a cluster.
        WaitingForCluster => "Waiting for Cluster",
        /// Stopped by force.
        ForceStop => "Force Stop",
    }
}

impl JobStatus {
    /// `true` for a status after which the job does not change: `Completed` and `Force Stop`.
    pub fn is_final(&self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::ForceStop)
    }
}

string_enum! {
    /// A cluster status, from `cluster_statuses` or a summary's `clusterStatusDisplay`.
    pub enum ClusterStatus {
        /// No cluster yet.
        NotStarted => "Not Started",
        /// Requested.
        Pending => "Pending",
        /// Queued at the provider.
        Queued => "Queued",
        /// Booting.
        Starting => "Starting",
        /// Up.
        Started => "Started",
        /// A stop was asked for.
        StopRequested => "Stop Requested",
        /// Shutting down.
        Stopping => "Stopping",
        /// Down; the job can be deleted.
        Stopped => "Stopped",
        /// The service itself does not know.
        Unknown => "Unknown",
        /// The cluster failed.
        Error => "Error",
    }
}

/// Filter of [`Jobs::list`](crate::jobs::Jobs::list) by whether a job has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Finished jobs (`state=completed`).
    Completed,
    /// Jobs not finished yet (`state=not_completed`).
    NotCompleted,
}

impl JobState {
    /// The value the `state` query parameter takes.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Completed => "completed",
            JobState::NotCompleted => "not_completed",
        }
    }
}

/// A status as the job list displays it: `{"content": "Executing", "labelClass": ..., "useLabel": ...}`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusDisplay {
    /// The status text; `""` for a job never submitted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: String,
    /// CSS class the web UI uses.
    pub label_class: Option<String>,
    /// Whether the web UI shows a label.
    pub use_label: Option<bool>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The status text as the list shows it (`""` for a job never submitted).
///
/// ```
/// let shown: rescale::jobs::StatusDisplay =
///     serde_json::from_str(r#"{"content": "Executing", "labelClass": "info"}"#).unwrap();
/// assert_eq!(shown.to_string(), "Executing");
/// ```
impl std::fmt::Display for StatusDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.content)
    }
}

impl StatusDisplay {
    /// The content parsed into a status, or `None` when it is empty.
    pub fn parse<S: std::str::FromStr>(&self) -> Option<S> {
        let text = self.content.trim();
        if text.is_empty() {
            None
        } else {
            text.parse().ok()
        }
    }
}

/// One entry of a job's (or its cluster's) status history.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusEntry<S> {
    /// The status.
    pub status: S,
    /// When the status was entered.
    pub status_date: Option<DateTime<Utc>>,
    /// Why, e.g. `Completed successfully`, `A run failed`, `User Terminated`.
    pub status_reason: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An entry of a job's status history.
pub type JobStatusEntry = StatusEntry<JobStatus>;
/// An entry of a job's cluster status history.
pub type ClusterStatusEntry = StatusEntry<ClusterStatus>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_spellings_decode_to_one_value() {
        for text in [
            "Waiting for Queue",
            "WAITING_FOR_QUEUE",
            "waiting for queue",
        ] {
            let s: JobStatus = serde_json::from_value(Value::from(text)).unwrap();
            assert_eq!(s, JobStatus::WaitingForQueue);
        }
        let s: JobStatus = serde_json::from_value(Value::from("FORCE_STOP")).unwrap();
        assert_eq!(s, JobStatus::ForceStop);
        assert_eq!(s.api_name(), "FORCE_STOP");
        assert_eq!(
            serde_json::to_value(JobStatus::WaitingForQueue).unwrap(),
            "Waiting for Queue"
        );
    }

    #[test]
    fn unknown_status_keeps_its_text() {
        let s: JobStatus = serde_json::from_value(Value::from("Force Stopped")).unwrap();
        assert_eq!(s, JobStatus::Other("Force Stopped".into()));
        assert!(!s.is_final());
        assert_eq!(serde_json::to_value(&s).unwrap(), "Force Stopped");
        let c: ClusterStatus = serde_json::from_value(Value::from("Exploded")).unwrap();
        assert_eq!(c, ClusterStatus::Other("Exploded".into()));
        let u: ClusterStatus = serde_json::from_value(Value::from("Unknown")).unwrap();
        assert_eq!(u, ClusterStatus::Unknown);
    }
}

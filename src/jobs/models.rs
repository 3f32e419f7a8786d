//! Job models: what the service returns, and the request bodies the crate sends.
//!
//! Field names are the JSON names in snake_case. Every response model keeps the fields it
//! does not know in `extra`, so that a job read and written back loses nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use super::analysis::JobAnalysis;
use super::received::Received;
use super::status::{ClusterStatus, JobStatus, StatusDisplay};
use super::variables::JobVariable;
use crate::error::{Error, Result};
use crate::files::JobFile;
pub use crate::id::JobId;
use crate::serde_util::{null_as_default, opt_u32, opt_u64};

/// A job as the job list shows it.
///
/// `#[non_exhaustive]`: decode one from JSON to build it in a test.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobSummary {
    /// Job id.
    pub id: JobId,
    /// Job name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Owner's e-mail.
    pub owner: Option<String>,
    /// When the job was created.
    pub date_inserted: Option<DateTime<Utc>>,
    /// Names of the software the job runs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub analysis_names: Vec<String>,
    /// Storage used, in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub storage: Option<u64>,
    /// Users the job is shared with.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shared_with: Vec<String>,
    /// Whether the job shows in the web UI.
    pub is_visible: Option<bool>,
    /// The job status as displayed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_status: StatusDisplay,
    /// The cluster status as displayed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_status_display: StatusDisplay,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobSummary {
    /// The job status, or `None` for a job never submitted.
    pub fn status(&self) -> Option<JobStatus> {
        self.job_status.parse()
    }

    /// The cluster status, or `None` when there is none yet.
    pub fn cluster_status(&self) -> Option<ClusterStatus> {
        self.cluster_status_display.parse()
    }
}

/// A full job, as `get`, `create` and `update` return it.
///
/// It can be sent back with [`Jobs::update`](crate::jobs::Jobs::update) and loses
/// nothing: fields this version of the crate does not know travel in `extra`, and every
/// key the job was read with is sent again, at every level (analyses, hardware, files):
/// a key that came as `null` goes back as `null`, and a field the caller sets to `None`
/// (or removes from `extra`) is sent as `null`, so that the service clears it. A `Job`
/// built in code (rather than read) sends only the fields that are set.
///
/// The struct is `#[non_exhaustive]`: build one by decoding JSON
/// (`serde_json::from_value`), as the service sends it, or start a new job from it with
/// [`NewJob::from`](crate::jobs::NewJob).
///
/// ```
/// let mut job: rescale::jobs::Job = serde_json::from_value(serde_json::json!({
///     "id": "LeeKa", "name": "Jobbo", "paramFile": {"id": "sWErpg"}, "caseFile": null,
/// })).unwrap();
/// job.param_file = None;
/// let sent = serde_json::to_value(&job).unwrap();
/// assert_eq!(sent["paramFile"], serde_json::Value::Null); // cleared
/// assert!(sent.as_object().unwrap().contains_key("caseFile")); // kept, as null
/// assert!(!sent.as_object().unwrap().contains_key("description")); // never came
/// ```
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", remote = "Self")]
#[non_exhaustive]
pub struct Job {
    /// Job id.
    pub id: JobId,
    /// Job name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Owner's e-mail.
    pub owner: Option<String>,
    /// The analyses (JSON `jobanalyses`).
    #[serde(rename = "jobanalyses", default, deserialize_with = "null_as_default")]
    pub job_analyses: Vec<JobAnalysis>,
    /// DOE variables (JSON `jobvariables`).
    #[serde(rename = "jobvariables", default, deserialize_with = "null_as_default")]
    pub job_variables: Vec<JobVariable>,
    /// DOE parameter file.
    pub param_file: Option<JobFile>,
    /// Case file.
    pub case_file: Option<JobFile>,
    /// Resource filters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_filters: Vec<Value>,
    /// Archive filters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archive_filters: Vec<Value>,
    /// Runs the job expects (DOE).
    #[serde(default, deserialize_with = "opt_u32")]
    pub expected_runs: Option<u32>,
    /// Whether the nominal run is included (DOE).
    pub include_nominal_run: Option<bool>,
    /// Whether the job runs at low priority.
    pub is_low_priority: Option<bool>,
    /// Whether this is a template dry run.
    pub is_template_dry_run: Option<bool>,
    /// Monte Carlo iterations (DOE).
    #[serde(default, deserialize_with = "opt_u32")]
    pub monte_carlo_iterations: Option<u32>,
    /// Optimizer settings.
    pub optimizer: Option<Value>,
    /// Remote visualisation settings.
    pub remote_viz_config: Option<Value>,
    /// Description.
    pub description: Option<String>,
    /// Project the job is billed to.
    pub project_id: Option<String>,
    /// When the job was created.
    pub date_inserted: Option<DateTime<Utc>>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The keys the job was read with.
    #[serde(skip)]
    pub(crate) received: Received,
}

impl Serialize for Job {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut value =
            Job::serialize(self, serde_json::value::Serializer).map_err(S::Error::custom)?;
        self.received.restore(&mut value);
        value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (mut job, received) = Received::decode(d, |r| Job::deserialize(r))?;
        job.received = received;
        Ok(job)
    }
}

/// A partial update for [`Jobs::patch`](crate::jobs::Jobs::patch): only the fields set
/// are sent.
///
/// ```
/// let patch = rescale::jobs::JobPatch::new().name("Renamed").low_priority(false);
/// assert_eq!(
///     serde_json::to_value(&patch).unwrap(),
///     serde_json::json!({"name": "Renamed", "isLowPriority": false})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobPatch {
    fields: Map<String, Value>,
}

impl JobPatch {
    /// An empty patch.
    pub fn new() -> Self {
        JobPatch::default()
    }

    /// Renames the job.
    #[must_use]
    pub fn name(self, name: impl Into<String>) -> Self {
        self.field("name", name.into())
    }

    /// Sets low priority.
    #[must_use]
    pub fn low_priority(self, low: bool) -> Self {
        self.field("isLowPriority", low)
    }

    /// Sets the description.
    #[must_use]
    pub fn description(self, description: impl Into<String>) -> Self {
        self.field("description", description.into())
    }

    /// Sets the project the job is billed to.
    #[must_use]
    pub fn project_id(self, project_id: impl Into<String>) -> Self {
        self.field("projectId", project_id.into())
    }

    /// Sets any field by its JSON (camelCase) name.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// The fields the patch sets.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Checks the patch before it is sent: at least one field, and a non-blank name.
    pub fn validate(&self) -> Result<()> {
        if self.fields.is_empty() {
            return Err(Error::invalid("patch", "sets no field"));
        }
        if let Some(name) = self.fields.get("name")
            && name.as_str().is_none_or(|n| n.trim().is_empty())
        {
            return Err(Error::invalid("name", "must not be blank"));
        }
        Ok(())
    }
}

/// What a PATCH answers: the id and the fields that changed, e.g.
/// `{"id": "LeeKa", "isLowPriority": false, "name": "Jobster"}`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PatchedJob {
    /// Job id.
    pub id: Option<JobId>,
    /// The name, when it was part of the answer.
    pub name: Option<String>,
    /// Low priority, when it was part of the answer.
    pub is_low_priority: Option<bool>,
    /// The other fields of the answer, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What sharing a job answers.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShareResult {
    /// Who the job was shared with.
    pub recipient: Option<String>,
    /// The support desk, when shared with one.
    pub support_desk: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

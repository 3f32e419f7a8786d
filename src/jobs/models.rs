//! Job models: what the service returns, and the request bodies the crate sends.
//!
//! Field names are the JSON names in snake_case. Every response model keeps the fields it
//! does not know in `extra`, so that a job read and written back loses nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use super::analysis::{InputFile, JobAnalysis, JobVariable};
use super::status::{ClusterStatus, JobStatus, StatusDisplay};
use crate::error::{Error, Result};
use crate::files::JobFile;
pub use crate::id::JobId;
use crate::serde_util::{null_as_default, opt_u32, opt_u64};

/// A job as the job list shows it.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
/// It can be sent back with [`Jobs::update`](crate::jobs::Jobs::update): fields this
/// version of the crate does not know travel in `extra`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
}

/// A job to create: a name and at least one analysis.
///
/// ```
/// use rescale::jobs::{Hardware, JobAnalysis, NewJob};
/// let job = NewJob::new(
///     "Example Job",
///     vec![JobAnalysis::new("user_included", "echo hi", Hardware::new("standard-plus", 1)).version("0")],
/// )
/// .low_priority(true);
/// assert!(job.validate().is_ok());
/// ```
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    /// Job name.
    pub name: String,
    /// The analyses (JSON `jobanalyses`).
    #[serde(
        rename = "jobanalyses",
        serialize_with = "analyses_without_empty_lists"
    )]
    pub job_analyses: Vec<JobAnalysis>,
    /// DOE variables (JSON `jobvariables`).
    #[serde(
        rename = "jobvariables",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub job_variables: Vec<JobVariable>,
    /// DOE parameter file.
    pub param_file: Option<InputFile>,
    /// Case file.
    pub case_file: Option<InputFile>,
    /// Whether the job runs at low priority.
    pub is_low_priority: Option<bool>,
    /// Description.
    pub description: Option<String>,
    /// Project the job is billed to.
    pub project_id: Option<String>,
    /// Further fields to send as they are (e.g. ones this crate does not model yet).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NewJob {
    /// A job named `name` running `analyses`.
    pub fn new(name: impl Into<String>, analyses: Vec<JobAnalysis>) -> Self {
        NewJob {
            name: name.into(),
            job_analyses: analyses,
            ..NewJob::default()
        }
    }

    /// Sets low priority.
    #[must_use]
    pub fn low_priority(mut self, low: bool) -> Self {
        self.is_low_priority = Some(low);
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the project the job is billed to.
    #[must_use]
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Adds a DOE variable.
    #[must_use]
    pub fn variable(mut self, variable: JobVariable) -> Self {
        self.job_variables.push(variable);
        self
    }

    /// Sets a further JSON field, sent as it is (camelCase name, as the API spells it).
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Checks what the service would reject, without sending anything.
    pub fn validate(&self) -> Result<()> {
        validate_definition(&self.name, &self.job_analyses)
    }
}

/// A new job leaves out the lists it does not use, as the documented request does; a
/// [`Job`] read from the service sends back every list it read, empty or not.
fn analyses_without_empty_lists<S: Serializer>(
    analyses: &[JobAnalysis],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::{Error as _, SerializeSeq};
    let mut seq = s.serialize_seq(Some(analyses.len()))?;
    for analysis in analyses {
        let mut value = serde_json::to_value(analysis).map_err(S::Error::custom)?;
        if let Value::Object(map) = &mut value {
            map.retain(|key, v| {
                !(matches!(key.as_str(), "inputFiles" | "templateTasks")
                    && v.as_array().is_some_and(Vec::is_empty))
            });
        }
        seq.serialize_element(&value)?;
    }
    seq.end()
}

/// A whole job definition that [`Jobs::create`](crate::jobs::Jobs::create) and
/// [`Jobs::update`](crate::jobs::Jobs::update) can send: a [`NewJob`], or a [`Job`] read
/// from the service and edited.
pub trait JobDefinition: Serialize + private::Sealed + Sync {
    /// Checks what the service would reject, without sending anything.
    fn validate(&self) -> Result<()>;
}

impl JobDefinition for NewJob {
    fn validate(&self) -> Result<()> {
        NewJob::validate(self)
    }
}

impl JobDefinition for Job {
    fn validate(&self) -> Result<()> {
        validate_definition(&self.name, &self.job_analyses)
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::NewJob {}
    impl Sealed for super::Job {}
}

fn validate_definition(name: &str, analyses: &[JobAnalysis]) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("name", "must not be blank"));
    }
    if analyses.is_empty() {
        return Err(Error::invalid(
            "job_analyses",
            "must hold at least one analysis",
        ));
    }
    for (i, a) in analyses.iter().enumerate() {
        let field = |name: &str| format!("job_analyses[{i}].{name}");
        if a.analysis.code.trim().is_empty() {
            return Err(Error::invalid(field("analysis.code"), "must not be blank"));
        }
        if a.command.trim().is_empty() {
            return Err(Error::invalid(field("command"), "must not be blank"));
        }
        if a.hardware.core_type.code.trim().is_empty() {
            return Err(Error::invalid(
                field("hardware.core_type"),
                "must not be blank",
            ));
        }
        if a.hardware.cores_per_slot == 0 {
            return Err(Error::invalid(
                field("hardware.cores_per_slot"),
                "must be at least 1",
            ));
        }
        if a.hardware.slots == Some(0) {
            return Err(Error::invalid(
                field("hardware.slots"),
                "must be at least 1",
            ));
        }
        if a.hardware.walltime == Some(0) {
            return Err(Error::invalid(
                field("hardware.walltime"),
                "must be at least 1 hour",
            ));
        }
        for (j, f) in a.input_files.iter().enumerate() {
            if f.id.trim().is_empty() {
                return Err(Error::invalid(
                    field(&format!("input_files[{j}].id")),
                    "must not be blank",
                ));
            }
        }
    }
    Ok(())
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
pub struct ShareResult {
    /// Who the job was shared with.
    pub recipient: Option<String>,
    /// The support desk, when shared with one.
    pub support_desk: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::super::analysis::*;
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let ok = || {
            NewJob::new(
                "n",
                vec![JobAnalysis::new(
                    "user_included",
                    "echo",
                    Hardware::new("standard-plus", 1),
                )],
            )
        };
        assert!(ok().validate().is_ok());
        let cases: Vec<(NewJob, &str)> = vec![
            (
                NewJob {
                    name: "  ".into(),
                    ..ok()
                },
                "name",
            ),
            (NewJob::new("n", vec![]), "job_analyses"),
            (
                {
                    let mut j = ok();
                    j.job_analyses[0].command = " ".into();
                    j
                },
                "job_analyses[0].command",
            ),
            (
                {
                    let mut j = ok();
                    j.job_analyses[0].hardware.core_type = CoreTypeRef::new("");
                    j
                },
                "job_analyses[0].hardware.core_type",
            ),
            (
                {
                    let mut j = ok();
                    j.job_analyses[0].hardware.cores_per_slot = 0;
                    j
                },
                "job_analyses[0].hardware.cores_per_slot",
            ),
            (
                {
                    let mut j = ok();
                    j.job_analyses[0].hardware.slots = Some(0);
                    j
                },
                "job_analyses[0].hardware.slots",
            ),
        ];
        for (job, want) in cases {
            match job.validate() {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}

//! A job to create ([`NewJob`]), from scratch or from a job read from the service, and
//! the checks every job definition passes before it is sent.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use super::analysis::{CoreTypeRef, InputFile, JobAnalysis};
use super::models::Job;
use super::variables::JobVariable;
use crate::error::{Error, Result};

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
///
/// Only what is set is sent. `#[non_exhaustive]`: build one with [`NewJob::new`] and the
/// builder methods, from a job read from the service with [`NewJob::from`], or decode it
/// from JSON.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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

    /// Sets the DOE parameter file (an uploaded CSV of variable values, one run a row).
    #[must_use]
    pub fn param_file(mut self, file: impl Into<InputFile>) -> Self {
        self.param_file = Some(file.into());
        self
    }

    /// Sets the case file.
    #[must_use]
    pub fn case_file(mut self, file: impl Into<InputFile>) -> Self {
        self.case_file = Some(file.into());
        self
    }

    /// Runs every analysis on the core type `code` (e.g. `emerald`): with
    /// [`NewJob::from`], "this job again, on other hardware".
    #[must_use]
    pub fn core_type(mut self, code: impl Into<String>) -> Self {
        let code = code.into();
        for analysis in &mut self.job_analyses {
            analysis.hardware.core_type = CoreTypeRef::new(code.clone());
        }
        self
    }

    /// Sets a further JSON field, sent as it is (camelCase name, as the API spells it).
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Checks what the service would reject, without sending anything: the name, each
    /// analysis and each variable (see [`JobVariable::validate`]). The error names the
    /// field, e.g. `job_variables[0].display_order`.
    pub fn validate(&self) -> Result<()> {
        validate_definition(&self.name, &self.job_analyses, &self.job_variables)
    }
}

/// Keys of a job that the service owns: a job made from another leaves them out.
const SERVICE_OWNED: &[&str] = &[
    "id",
    "owner",
    "dateInserted",
    "dateCompleted",
    "jobStatus",
    "clusterStatusDisplay",
    "statuses",
    "userTags",
    "sharedWith",
    "storage",
    "isVisible",
    "analysisNames",
    "elapsedWalltimeSeconds",
];

/// A job's definition, to create it again (perhaps changed): what the service owns (id,
/// owner, dates, statuses, `userTags`, sharing, ...) is left out, files become references
/// by id, response-only details (display names, the core summary) are dropped, and
/// definition fields this crate does not know are kept.
///
/// ```
/// # async fn demo(jobs: rescale::jobs::Jobs) -> rescale::Result<()> {
/// let job = jobs.get("LeeKa").await?;
/// let again = jobs.create(&rescale::jobs::NewJob::from(&job).core_type("emerald")).await?;
/// # Ok(()) }
/// ```
impl From<&Job> for NewJob {
    fn from(job: &Job) -> Self {
        let mut extra = job.extra.clone();
        extra.retain(|key, value| !value.is_null() && !SERVICE_OWNED.contains(&key.as_str()));
        let mut put = |key: &str, value: Value| {
            if !value.is_null() {
                extra.insert(key.to_owned(), value);
            }
        };
        put("resourceFilters", Value::from(job.resource_filters.clone()));
        put("archiveFilters", Value::from(job.archive_filters.clone()));
        put("expectedRuns", job.expected_runs.into());
        put("includeNominalRun", job.include_nominal_run.into());
        put("isTemplateDryRun", job.is_template_dry_run.into());
        put("monteCarloIterations", job.monte_carlo_iterations.into());
        put("optimizer", job.optimizer.clone().unwrap_or(Value::Null));
        put(
            "remoteVizConfig",
            job.remote_viz_config.clone().unwrap_or(Value::Null),
        );
        NewJob {
            name: job.name.clone(),
            job_analyses: job.job_analyses.iter().map(analysis_definition).collect(),
            job_variables: job.job_variables.clone(),
            param_file: job.param_file.as_ref().map(InputFile::from),
            case_file: job.case_file.as_ref().map(InputFile::from),
            is_low_priority: job.is_low_priority,
            description: job.description.clone(),
            project_id: job.project_id.clone(),
            extra,
        }
    }
}

impl Job {
    /// This job's definition, to create it again: see [`NewJob::from`].
    pub fn to_new_job(&self) -> NewJob {
        NewJob::from(self)
    }
}

/// A file reference as a request sends it: its id, and whether to unpack it.
fn file_reference(file: &InputFile) -> InputFile {
    let mut reference = InputFile::new(file.id.clone());
    reference.decompress = file.decompress;
    reference
}

/// An analysis as a request defines it: response-only details left out.
fn analysis_definition(analysis: &JobAnalysis) -> JobAnalysis {
    let mut a = analysis.clone();
    a.analysis.name = None;
    a.analysis.version_name = None;
    a.hardware.core_summary = None;
    a.hardware.core_type.details = None;
    a.input_files = a.input_files.iter().map(file_reference).collect();
    for task in &mut a.template_tasks {
        task.template_file = task.template_file.as_ref().map(file_reference);
    }
    a.pre_process_script = a.pre_process_script.as_ref().map(file_reference);
    a.post_process_script = a.post_process_script.as_ref().map(file_reference);
    a
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
        validate_definition(&self.name, &self.job_analyses, &self.job_variables)
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::NewJob {}
    impl Sealed for super::Job {}
}

fn validate_definition(
    name: &str,
    analyses: &[JobAnalysis],
    variables: &[JobVariable],
) -> Result<()> {
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
    for (i, v) in variables.iter().enumerate() {
        v.validate_at(&format!("job_variables[{i}]."))?;
    }
    Ok(())
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

//! The runs of a job (one per DOE case, optimisation step or iteration) and their files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use super::{Jobs, check_id};
use crate::error::Result;
use crate::files::JobFile;
use crate::id::Invalid;
use crate::pagination::ListRequest;
use crate::serde_util::{null_as_default, opt_u32, opt_u64};
use crate::transport::ApiRequest;

/// The kind of a run (`type`, a number).
///
/// The mapping is inferred, not documented: the service's DOE sample has `type: 3` for
/// every case of a parameter sweep, and the three kinds are numbered in the order
/// optimisation, iteration, case. A number not listed here reads as `Other(n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunType {
    /// 1: a step of an optimisation.
    Optimization,
    /// 2: an iteration.
    Iteration,
    /// 3: one case of a design of experiments (parameter sweep).
    Case,
    /// A number this version of the crate does not know.
    Other(u32),
}

impl RunType {
    /// The kind for a `type` number.
    pub fn from_id(id: u32) -> RunType {
        match id {
            1 => RunType::Optimization,
            2 => RunType::Iteration,
            3 => RunType::Case,
            other => RunType::Other(other),
        }
    }

    /// The `type` number of this kind.
    pub fn id(self) -> u32 {
        match self {
            RunType::Optimization => 1,
            RunType::Iteration => 2,
            RunType::Case => 3,
            RunType::Other(n) => n,
        }
    }
}

impl Serialize for RunType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(self.id())
    }
}

impl<'de> Deserialize<'de> for RunType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        opt_u32(d)?
            .map(RunType::from_id)
            .ok_or_else(|| D::Error::custom("expected a run type number"))
    }
}

/// One run of a job: a DOE case, an optimisation step or an iteration.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Run {
    /// Run id, a numeric string such as `"1"` (a JSON number is read as text too).
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// Position in the job's list of runs.
    #[serde(default, deserialize_with = "opt_u32")]
    pub display_order: Option<u32>,
    /// What kind of run (JSON `type`).
    #[serde(rename = "type", default)]
    pub run_type: Option<RunType>,
    /// The values of the job's variables in this run, outputs included.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub variables: Vec<RunVariable>,
    /// When the run started.
    pub date_started: Option<DateTime<Utc>>,
    /// When the run finished.
    pub date_completed: Option<DateTime<Utc>>,
    /// How many output files the run made.
    #[serde(default, deserialize_with = "opt_u64")]
    pub output_file_count: Option<u64>,
    /// Total size of the run's outputs, in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub output_file_size: Option<u64>,
    /// Whether an optimisation found this run optimal.
    pub is_optimal: Option<bool>,
    /// The run this one derives from, as the service sends it.
    pub parent: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Run {
    /// The variable called `name`, if the run has it.
    pub fn variable(&self, name: &str) -> Option<&RunVariable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// A variable's value in one run, e.g. `x_velocity = 20`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunVariable {
    /// Variable name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The value as sent: usually a number; see [`RunVariable::number`].
    #[serde(default)]
    pub value: Value,
    /// The value as the web UI shows it, e.g. `"20"`.
    pub display_value: Option<String>,
    /// Whether the value is relative to a base value.
    pub is_relative: Option<bool>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RunVariable {
    /// The value as a number, when it is one (or a text that reads as one).
    pub fn number(&self) -> Option<f64> {
        match &self.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// A run id sent as `"1"` or as `1`.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a run id, got {other}"
        ))),
    }
}

impl Jobs {
    /// The URL `jobs/{id}/runs/{run}/{rest...}/`, or the reason an id is refused.
    pub(crate) fn run_url(
        &self,
        job_id: &str,
        run_id: &str,
        rest: &[&str],
    ) -> std::result::Result<url::Url, Invalid> {
        let run_id = check_id("run_id", run_id)?;
        let mut segments = vec!["runs", run_id];
        segments.extend_from_slice(rest);
        self.job_url(job_id, &segments)
    }

    /// The runs of a job (one per DOE case, optimisation step or iteration).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let runs: Vec<_> = client.jobs().runs("LeeKa").page_size(100).stream().try_collect().await?;
    /// for run in &runs {
    ///     let cd = run.variable("Cd").and_then(|v| v.number());
    ///     println!("run {}: Cd = {cd:?}", run.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn runs(&self, job_id: impl AsRef<str>) -> ListRequest<Run> {
        ListRequest::with_ids(
            self.client.clone(),
            self.job_url(job_id.as_ref(), &["runs"]),
        )
    }

    /// One run of a job.
    pub async fn run(&self, job_id: impl AsRef<str>, run_id: impl AsRef<str>) -> Result<Run> {
        let url = self.run_url(job_id.as_ref(), run_id.as_ref(), &[])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }

    /// The output files of one run.
    pub fn run_files(
        &self,
        job_id: impl AsRef<str>,
        run_id: impl AsRef<str>,
    ) -> ListRequest<JobFile> {
        ListRequest::with_ids(
            self.client.clone(),
            self.run_url(job_id.as_ref(), run_id.as_ref(), &["files"]),
        )
    }
}

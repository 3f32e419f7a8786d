//! The software and hardware catalogues: [`Analysis`] (`GET analyses/`) and [`CoreType`]
//! (`GET coretypes/`), and the pre-flight check of a job against them and the account
//! ([`Catalog::check_job`]).
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use rescale::jobs::{Hardware, JobAnalysis, NewJob};
//! # async fn demo(client: rescale::Client) -> rescale::Result<()> {
//! let catalog = client.catalog();
//! let software: Vec<_> = catalog.analyses().page_size(100).stream().try_collect().await?;
//! let hardware: Vec<_> = catalog.core_types().stream().try_collect().await?;
//!
//! let job = NewJob::new("Example", vec![
//!     JobAnalysis::new("user_included", "echo hi", Hardware::new("emerald", 4)).version("0"),
//! ]);
//! catalog.check_job(&job).await?; // hardware, software, walltime, project
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use std::sync::Arc;

use futures::TryStreamExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::jobs::{Hardware, NewJob};
use crate::pagination::ListRequest;
use crate::serde_util::{lenient_f64, lenient_text, null_as_default, opt_u32, opt_u64};

/// The catalogue endpoints. Cheap to create and clone; owns a clone of the [`Client`].
#[derive(Debug, Clone)]
pub struct Catalog {
    client: Client,
}

impl Client {
    /// The software ([`Analysis`]) and hardware ([`CoreType`]) catalogues.
    pub fn catalog(&self) -> Catalog {
        Catalog {
            client: self.clone(),
        }
    }
}

/// Page size used when a whole catalogue is scanned.
const SCAN_PAGE_SIZE: u32 = 1000;

impl Catalog {
    /// The software catalogue (`GET analyses/`).
    pub fn analyses(&self) -> ListRequest<Analysis> {
        ListRequest::new(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["analyses"])),
        )
    }

    /// The analysis with this `code` (e.g. `abaqus`), or `None`. The API has no
    /// endpoint for one analysis, so this reads the catalogue until it finds the code.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank code; any error of reading the catalogue.
    pub async fn analysis(&self, code: &str) -> Result<Option<Analysis>> {
        let code = non_blank("code", code)?;
        find(self.analyses().page_size(SCAN_PAGE_SIZE), |a: &Analysis| {
            a.code == code
        })
        .await
    }

    /// The hardware catalogue (`GET coretypes/`).
    pub fn core_types(&self) -> ListRequest<CoreType> {
        ListRequest::new(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["coretypes"])),
        )
    }

    /// The core type with this `code` (e.g. `emerald`), or `None`; reads the catalogue
    /// until it finds the code.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank code; any error of reading the catalogue.
    pub async fn core_type(&self, code: &str) -> Result<Option<CoreType>> {
        let code = non_blank("code", code)?;
        find(
            self.core_types().page_size(SCAN_PAGE_SIZE),
            |c: &CoreType| c.code == code,
        )
        .await
    }

    /// The hardware catalogue, read once for the client's lifetime and shared by its
    /// clones; see [`refresh`](Catalog::refresh).
    pub async fn core_types_cached(&self) -> Result<Arc<Vec<CoreType>>> {
        let list = self.core_types().page_size(SCAN_PAGE_SIZE);
        self.client
            .cache
            .core_types
            .get_or_read(|| list.stream().try_collect())
            .await
    }

    /// The software catalogue, read once for the client's lifetime and shared by its clones.
    pub async fn analyses_cached(&self) -> Result<Arc<Vec<Analysis>>> {
        let list = self.analyses().page_size(SCAN_PAGE_SIZE);
        self.client
            .cache
            .analyses
            .get_or_read(|| list.stream().try_collect())
            .await
    }

    /// Forgets every cached read the pre-flight check uses (catalogues, user, projects):
    /// the next check reads them again.
    pub async fn refresh(&self) {
        self.client.cache.clear_catalog().await;
        self.client.cache.clear_account().await;
    }

    /// The pre-flight check of a job, before anything is created or billed: every problem
    /// [`preflight`](Catalog::preflight) finds, as one [`Error::InvalidInput`] naming the
    /// first problem's field (the others follow in its reason).
    ///
    /// ```no_run
    /// use rescale::jobs::{Hardware, JobAnalysis, NewJob};
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let job = NewJob::new("Example", vec![
    ///     JobAnalysis::new("user_included", "echo hi", Hardware::new("emerald", 4).walltime_hours(8)).version("0"),
    /// ]);
    /// client.catalog().check_job(&job).await?;
    /// let created = client.jobs().create(&job).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the first problem's field (e.g.
    /// `job_analyses[0].hardware.walltime`); any error of the reads.
    pub async fn check_job(&self, job: &NewJob) -> Result<()> {
        let problems = self.preflight(job).await?;
        let Some((first, rest)) = problems.split_first() else {
            return Ok(());
        };
        let mut reason = first.reason.clone();
        if !rest.is_empty() {
            let others: Vec<String> = rest.iter().map(Problem::to_string).collect();
            reason = format!("{reason} (and {} more: {})", rest.len(), others.join("; "));
        }
        Err(Error::invalid(first.field.clone(), reason))
    }

    /// Every problem that would make the service refuse `job` or bill it for what it
    /// cannot run, each with its field (empty when there is none):
    /// - each analysis's core type is in the hardware catalogue, not deprecated, offers
    ///   the cores per slot asked for, and has a walltime where it requires one
    ///   ([`CoreType::check_hardware`]);
    /// - the definition passes [`NewJob::validate`] (a blank name, no analysis, ...: its
    ///   first problem, as `create` would refuse it before sending anything);
    /// - each analysis's code is in the software catalogue, and its version too when one
    ///   is given (whether the service takes an analysis without a version is not
    ///   documented, so none is not reported);
    /// - each walltime is within the account's `maxJobHours` ([`User::max_job_hours`](crate::account::User::max_job_hours));
    /// - a `projectId`, when set, is one of the user's projects.
    ///
    /// The catalogues, the user and the projects are read once for the client's lifetime
    /// (shared by clones), so checking a thousand jobs costs four requests; see
    /// [`refresh`](Catalog::refresh). An `Err` is a failed read, not a problem of the job.
    pub async fn preflight(&self, job: &NewJob) -> Result<Vec<Problem>> {
        let core_types = self.core_types_cached().await?;
        let analyses = self.analyses_cached().await?;
        let account = self.client.account();
        let me = account.me_cached().await?;
        let mut problems = Vec::new();
        if let Err(Error::InvalidInput { field, reason }) = job.validate() {
            problems.push(Problem::new(field, reason));
        }
        for (i, item) in job.job_analyses.iter().enumerate() {
            let at = format!("job_analyses[{i}]");
            let hardware = &item.hardware;
            let code = hardware.core_type_code();
            match core_types.iter().find(|c| c.code == code) {
                None => problems.push(Problem::new(
                    format!("{at}.hardware.core_type"),
                    format!("`{code}` is not in the hardware catalogue"),
                )),
                Some(core_type) => {
                    if let Err(Error::InvalidInput { field, reason }) =
                        core_type.check_hardware_at(hardware, &format!("{at}.hardware"))
                    {
                        problems.push(Problem::new(field, reason));
                    }
                }
            }
            let wanted = &item.analysis;
            match analyses.iter().find(|a| a.code == wanted.code) {
                None => problems.push(Problem::new(
                    format!("{at}.analysis.code"),
                    format!("`{}` is not in the software catalogue", wanted.code),
                )),
                Some(analysis) => {
                    if let Some(version) = &wanted.version
                        && analysis.version(version).is_none()
                    {
                        problems.push(Problem::new(
                            format!("{at}.analysis.version"),
                            format!("`{}` has no version `{version}`", wanted.code),
                        ));
                    }
                }
            }
            if let (Some(hours), Some(max)) = (hardware.walltime, me.max_job_hours)
                && f64::from(hours) > max
            {
                problems.push(Problem::new(
                    format!("{at}.hardware.walltime"),
                    format!("{hours} hours is more than the account allows ({max} hours)"),
                ));
            }
        }
        if let Some(project) = &job.project_id {
            let projects = account.projects_cached().await?;
            if !projects.iter().any(|p| p.id.as_deref() == Some(project)) {
                problems.push(Problem::new(
                    "project_id",
                    format!("`{project}` is not one of your projects"),
                ));
            }
        }
        Ok(problems)
    }
}

/// One problem found by [`Catalog::preflight`]: the field (e.g.
/// `job_analyses[0].hardware.walltime`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The field, named as in [`NewJob`] (snake case, with indices).
    pub field: String,
    /// Why it would be refused.
    pub reason: String,
}

impl Problem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn non_blank<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, "must not be blank"))
    } else {
        Ok(value)
    }
}

/// The first item of a list that `matches`, reading pages only until it is found.
async fn find<T, F>(list: ListRequest<T>, matches: F) -> Result<Option<T>>
where
    T: serde::de::DeserializeOwned + Send + 'static,
    F: Fn(&T) -> bool,
{
    let mut items = list.stream();
    while let Some(item) = items.try_next().await? {
        if matches(&item) {
            return Ok(Some(item));
        }
    }
    Ok(None)
}

/// A piece of software Rescale runs, with its versions.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Analysis {
    /// Code used in job definitions, e.g. `abaqus`.
    pub code: String,
    /// Display name, e.g. `Abaqus`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description (HTML).
    pub description: Option<String>,
    /// Vendor.
    pub vendor_name: Option<String>,
    /// Whether Rescale can provide a licence.
    pub has_rescale_license: Option<bool>,
    /// The versions that can be run.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<AnalysisVersion>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Analysis {
    /// The version whose `versionCode` (or, failing that, `version`) is `code`.
    pub fn version(&self, code: &str) -> Option<&AnalysisVersion> {
        self.versions
            .iter()
            .find(|v| v.version_code.as_deref() == Some(code))
            .or_else(|| {
                self.versions
                    .iter()
                    .find(|v| v.version.as_deref() == Some(code))
            })
    }
}

/// One version of an [`Analysis`].
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnalysisVersion {
    /// Display version, e.g. `6.14-1`.
    pub version: Option<String>,
    /// Code used in job definitions, e.g. `6.14.1-pcmpi`.
    pub version_code: Option<String>,
    /// Codes of the core types this version runs on.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_core_types: Vec<String>,
    /// Suggested command without MPI.
    pub std_command: Option<String>,
    /// Suggested command with MPI.
    pub mpi_command: Option<String>,
    /// Suggested command for shared-memory parallelism.
    pub smp_command: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A kind of hardware (`coretypes/`): cores, memory, price, and what a job on it needs.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CoreType {
    /// Code used in job definitions, e.g. `emerald`.
    pub code: String,
    /// Display name, e.g. `Emerald`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The cores-per-slot values a job may ask for.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cores: Vec<u32>,
    /// Price per core-hour (a number in the API).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub price: Option<f64>,
    /// Low-priority price per core-hour, as the API sends it: a text such as `"0.050"`.
    /// See [`CoreType::low_priority_price_value`].
    #[serde(default, deserialize_with = "lenient_text")]
    pub low_priority_price: Option<String>,
    /// Whether a job on this hardware must give a walltime.
    #[serde(default, deserialize_with = "null_as_default")]
    pub walltime_required: bool,
    /// Whether the hardware is being retired; new jobs should not use it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_deprecated: bool,
    /// Memory per core, MB.
    #[serde(default, deserialize_with = "opt_u64")]
    pub memory: Option<u64>,
    /// Storage, GB.
    #[serde(default, deserialize_with = "opt_u64")]
    pub storage: Option<u64>,
    /// Position in the web UI's list.
    #[serde(default, deserialize_with = "opt_u32")]
    pub display_order: Option<u32>,
    /// Processor model.
    pub processor_info: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CoreType {
    /// The low-priority price as a number, when it reads as one.
    pub fn low_priority_price_value(&self) -> Option<f64> {
        self.low_priority_price.as_deref()?.trim().parse().ok()
    }

    /// Checks the analyses of `job` that run on this core type: `cores_per_slot` must be
    /// one of [`cores`](CoreType::cores), a walltime must be given where
    /// [`walltime_required`](CoreType::walltime_required), and a deprecated core type is
    /// refused. The error names the field, e.g. `job_analyses[0].hardware.cores_per_slot`.
    /// A job none of whose analyses use this core type is refused too.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the first field at fault; nothing is sent.
    ///
    /// ```
    /// # fn demo(core_type: &rescale::catalog::CoreType) {
    /// use rescale::jobs::{Hardware, JobAnalysis, NewJob};
    /// let job = NewJob::new("Example", vec![
    ///     JobAnalysis::new("user_included", "echo hi", Hardware::new(&core_type.code, 3)),
    /// ]);
    /// if let Err(e) = core_type.check(&job) {
    ///     eprintln!("{e}");
    /// }
    /// # }
    /// ```
    pub fn check(&self, job: &NewJob) -> Result<()> {
        let mut used = false;
        for (i, analysis) in job.job_analyses.iter().enumerate() {
            if analysis.hardware.core_type_code() == self.code {
                used = true;
                self.check_hardware_at(&analysis.hardware, &format!("job_analyses[{i}].hardware"))?;
            }
        }
        if used {
            Ok(())
        } else {
            Err(Error::invalid(
                "job_analyses",
                format!("no analysis runs on core type `{}`", self.code),
            ))
        }
    }

    /// Checks one [`Hardware`] against this core type, as [`check`](CoreType::check)
    /// does; fields are named `hardware.*`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field at fault; nothing is sent.
    pub fn check_hardware(&self, hardware: &Hardware) -> Result<()> {
        self.check_hardware_at(hardware, "hardware")
    }

    fn check_hardware_at(&self, hardware: &Hardware, at: &str) -> Result<()> {
        if self.is_deprecated {
            return Err(Error::invalid(
                format!("{at}.core_type"),
                format!("core type `{}` is deprecated", self.code),
            ));
        }
        if !self.cores.contains(&hardware.cores_per_slot) {
            return Err(Error::invalid(
                format!("{at}.cores_per_slot"),
                format!(
                    "{} is not offered by core type `{}`; choose one of {:?}",
                    hardware.cores_per_slot, self.code, self.cores
                ),
            ));
        }
        if self.walltime_required && hardware.walltime.is_none() {
            return Err(Error::invalid(
                format!("{at}.walltime"),
                format!("core type `{}` requires a walltime", self.code),
            ));
        }
        Ok(())
    }
}

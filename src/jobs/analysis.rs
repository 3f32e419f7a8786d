//! What a job runs: analyses, their software, hardware and input files.
//!
//! Every struct here is `#[non_exhaustive]`: build one with its constructor and builder
//! methods (or `Default`, then set fields), or decode it from JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use crate::files::JobFile;
use crate::serde_util::{null_as_default, opt_u32, opt_u64, u32_lenient};

string_enum! {
    /// The kind of hardware (`type`): a batch cluster or an interactive desktop.
    pub enum HardwareType {
        /// A compute cluster that runs the command and stops.
        Compute => "compute",
        /// An interactive cluster.
        Interactive => "interactive",
    }
}

/// The software an analysis runs: `{"code": "openfoam", "version": "2.3.1-openmpi"}`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnalysisRef {
    /// Software code, e.g. `user_included`, `openfoam`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    /// Version code, e.g. `0` or `2.3.1-openmpi`.
    pub version: Option<String>,
    /// Display name (responses only).
    pub name: Option<String>,
    /// Display version (responses only).
    pub version_name: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A core type as a job's hardware names it.
///
/// The service sends a plain code (`"standard-plus"`) in older answers and an object
/// (`{"code": "emerald", "name": ...}`) in newer ones; both decode, and the crate always
/// sends the code.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct CoreTypeRef {
    /// The core type code, e.g. `emerald`.
    pub code: String,
    /// The rest of the object form, when the service sent one.
    pub details: Option<Map<String, Value>>,
}

impl CoreTypeRef {
    /// A reference by code.
    pub fn new(code: impl Into<String>) -> Self {
        CoreTypeRef {
            code: code.into(),
            details: None,
        }
    }
}

impl Serialize for CoreTypeRef {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.code)
    }
}

impl<'de> Deserialize<'de> for CoreTypeRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        match Option::<Value>::deserialize(d)? {
            None => Ok(CoreTypeRef::default()),
            Some(Value::String(code)) => Ok(CoreTypeRef::new(code)),
            Some(Value::Object(mut map)) => match map.remove("code") {
                Some(Value::String(code)) => Ok(CoreTypeRef {
                    code,
                    details: Some(map),
                }),
                _ => Err(D::Error::custom("a core type object needs a string `code`")),
            },
            Some(other) => Err(D::Error::custom(format!(
                "expected a core type code or object, got {other}"
            ))),
        }
    }
}

/// Memory, nodes and storage the hardware choice amounts to (responses only).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CoreSummary {
    /// Memory per node, in MB.
    #[serde(default, deserialize_with = "opt_u64")]
    pub memory_per_node: Option<u64>,
    /// Number of nodes (sent as `1` or `1.0`).
    #[serde(default, deserialize_with = "opt_u32")]
    pub number_of_nodes: Option<u32>,
    /// Storage per node, in MB.
    #[serde(default, deserialize_with = "opt_u64")]
    pub storage_per_node: Option<u64>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The hardware an analysis runs on.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Hardware {
    /// The core type.
    #[serde(default)]
    pub core_type: CoreTypeRef,
    /// Cores per slot (per run in a DOE).
    #[serde(default, deserialize_with = "u32_lenient")]
    pub cores_per_slot: u32,
    /// Slots: in a DOE job, the runs executed at once. The service's default is 1.
    #[serde(default, deserialize_with = "opt_u32")]
    pub slots: Option<u32>,
    /// Maximum run time in whole hours.
    #[serde(default, deserialize_with = "opt_u32")]
    pub walltime: Option<u32>,
    /// What the choice amounts to (responses only).
    pub core_summary: Option<CoreSummary>,
    /// `compute` or `interactive`.
    #[serde(rename = "type")]
    pub hardware_type: Option<HardwareType>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Hardware {
    /// `cores_per_slot` cores of the core type `core_type` (e.g. `standard-plus`).
    pub fn new(core_type: impl Into<String>, cores_per_slot: u32) -> Self {
        Hardware {
            core_type: CoreTypeRef::new(core_type),
            cores_per_slot,
            ..Hardware::default()
        }
    }

    /// The core type code, whichever shape the service sent.
    pub fn core_type_code(&self) -> &str {
        &self.core_type.code
    }

    /// Sets the number of slots.
    #[must_use]
    pub fn slots(mut self, slots: u32) -> Self {
        self.slots = Some(slots);
        self
    }

    /// Sets the walltime, in whole hours.
    #[must_use]
    pub fn walltime_hours(mut self, hours: u32) -> Self {
        self.walltime = Some(hours);
        self
    }

    /// Sets the kind of hardware (`compute` or `interactive`).
    #[must_use]
    pub fn hardware_type(mut self, kind: HardwareType) -> Self {
        self.hardware_type = Some(kind);
        self
    }
}

/// A file an analysis takes as input.
///
/// In a request only `id` (and `decompress`) matter; in a response the service sends the
/// whole file object, whose other fields are kept in `extra`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InputFile {
    /// The file id (from an upload).
    pub id: String,
    /// Whether the service unpacks the archive before the run.
    pub decompress: Option<bool>,
    /// The file name (responses only).
    pub name: Option<String>,
    /// Fields of the file object this model does not name, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InputFile {
    /// A reference to an uploaded file.
    pub fn new(id: impl Into<String>) -> Self {
        InputFile {
            id: id.into(),
            ..InputFile::default()
        }
    }

    /// Sets whether the service unpacks the archive before the run.
    #[must_use]
    pub fn decompress(mut self, decompress: bool) -> Self {
        self.decompress = Some(decompress);
        self
    }
}

/// A template and the file name it is processed into: in a DOE job, the template's
/// `${variable}` placeholders are filled with each run's values.
///
/// ```
/// let task = rescale::jobs::TemplateTask::new("qEMEdg", "airFoil2D_DOE/0/U");
/// assert_eq!(
///     serde_json::to_value(&task).unwrap(),
///     serde_json::json!({"templateFile": {"id": "qEMEdg"}, "processedFilename": "airFoil2D_DOE/0/U"})
/// );
/// ```
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TemplateTask {
    /// The template file.
    pub template_file: Option<InputFile>,
    /// Where the processed template goes, e.g. `airFoil2D_DOE/0/U`.
    pub processed_filename: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TemplateTask {
    /// The uploaded template `template_file`, processed into `processed_filename` (a path
    /// in the run's working directory).
    pub fn new(template_file: impl Into<InputFile>, processed_filename: impl Into<String>) -> Self {
        TemplateTask {
            template_file: Some(template_file.into()),
            processed_filename: Some(processed_filename.into()),
            extra: Map::new(),
        }
    }
}

/// One analysis of a job: software, command, hardware and inputs.
///
/// ```
/// use rescale::jobs::{Hardware, JobAnalysis, TemplateTask};
/// let analysis = JobAnalysis::new("openfoam", "./Allrun", Hardware::new("emerald", 2))
///     .version("2.3.1-openmpi")
///     .input_file("duMEdg")
///     .template_task(TemplateTask::new("qEMEdg", "case/0/U"))
///     .pre_process_script("sCrIpT", "bash prepare.sh")
///     .post_process_script("pOsT1", "python summarise.py")
///     .flag("-parallel", true)
///     .use_rescale_license(true);
/// assert_eq!(analysis.template_tasks.len(), 1);
/// ```
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobAnalysis {
    /// The software.
    #[serde(default)]
    pub analysis: AnalysisRef,
    /// The command to run.
    #[serde(default, deserialize_with = "null_as_default")]
    pub command: String,
    /// The hardware.
    #[serde(default)]
    pub hardware: Hardware,
    /// Input files.
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_files: Vec<InputFile>,
    /// Environment variables.
    pub env_vars: Option<BTreeMap<String, String>>,
    /// Whether the command runs under MPI.
    pub use_mpi: Option<bool>,
    /// Whether Rescale's own license is used.
    pub use_rescale_license: Option<bool>,
    /// Software flags.
    pub flags: Option<Map<String, Value>>,
    /// Templates processed before the run.
    #[serde(default, deserialize_with = "null_as_default")]
    pub template_tasks: Vec<TemplateTask>,
    /// A script run before the command.
    pub pre_process_script: Option<InputFile>,
    /// The command that runs the pre-processing script.
    pub pre_process_script_command: Option<String>,
    /// A script run after the command.
    pub post_process_script: Option<InputFile>,
    /// The command that runs the post-processing script.
    pub post_process_script_command: Option<String>,
    /// On-demand license seller, as the service describes it.
    pub on_demand_license_seller: Option<Value>,
    /// License settings for user-supplied licenses.
    pub user_defined_license_settings: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobAnalysis {
    /// Runs `command` with the software `code` (e.g. `user_included`) on `hardware`.
    pub fn new(code: impl Into<String>, command: impl Into<String>, hardware: Hardware) -> Self {
        JobAnalysis {
            analysis: AnalysisRef {
                code: code.into(),
                ..AnalysisRef::default()
            },
            command: command.into(),
            hardware,
            ..JobAnalysis::default()
        }
    }

    /// Sets the software version code (e.g. `0` for `user_included`).
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.analysis.version = Some(version.into());
        self
    }

    /// Adds an input file by id.
    #[must_use]
    pub fn input_file(mut self, file: impl Into<InputFile>) -> Self {
        self.input_files.push(file.into());
        self
    }

    /// Sets an environment variable for the run.
    #[must_use]
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }

    /// Sets whether the command runs under MPI.
    #[must_use]
    pub fn use_mpi(mut self, use_mpi: bool) -> Self {
        self.use_mpi = Some(use_mpi);
        self
    }

    /// Sets a software flag (`flags`), e.g. `("-parallel", true)`.
    #[must_use]
    pub fn flag(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.flags
            .get_or_insert_with(Map::new)
            .insert(name.into(), value.into());
        self
    }

    /// Adds a template processed before the run.
    #[must_use]
    pub fn template_task(mut self, task: TemplateTask) -> Self {
        self.template_tasks.push(task);
        self
    }

    /// Runs the uploaded script `file` with `command` before the analysis command.
    #[must_use]
    pub fn pre_process_script(
        mut self,
        file: impl Into<InputFile>,
        command: impl Into<String>,
    ) -> Self {
        self.pre_process_script = Some(file.into());
        self.pre_process_script_command = Some(command.into());
        self
    }

    /// Runs the uploaded script `file` with `command` after the analysis command.
    #[must_use]
    pub fn post_process_script(
        mut self,
        file: impl Into<InputFile>,
        command: impl Into<String>,
    ) -> Self {
        self.post_process_script = Some(file.into());
        self.post_process_script_command = Some(command.into());
        self
    }

    /// Sets whether Rescale's own license of the software is used.
    #[must_use]
    pub fn use_rescale_license(mut self, use_it: bool) -> Self {
        self.use_rescale_license = Some(use_it);
        self
    }

    /// Sets the on-demand license seller, as the service describes it (the reference
    /// gives no schema: the value is sent as it is).
    #[must_use]
    pub fn on_demand_license_seller(mut self, seller: impl Into<Value>) -> Self {
        self.on_demand_license_seller = Some(seller.into());
        self
    }

    /// Sets the settings of a license the user supplies (e.g. a license server), sent
    /// as they are: the reference gives no schema.
    #[must_use]
    pub fn user_defined_license_settings(mut self, settings: impl Into<Value>) -> Self {
        self.user_defined_license_settings = Some(settings.into());
        self
    }
}

impl From<&str> for InputFile {
    fn from(id: &str) -> Self {
        InputFile::new(id)
    }
}

impl From<String> for InputFile {
    fn from(id: String) -> Self {
        InputFile::new(id)
    }
}

impl From<&JobFile> for InputFile {
    fn from(file: &JobFile) -> Self {
        InputFile::new(file.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_type_decodes_both_shapes_and_encodes_the_code() {
        let h: Hardware = serde_json::from_value(serde_json::json!({
            "coreType": {"code": "emerald", "name": "Emerald"}, "coresPerSlot": 2.0
        }))
        .unwrap();
        assert_eq!(h.core_type_code(), "emerald");
        assert_eq!(h.cores_per_slot, 2);
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!({"coreType": "emerald", "coresPerSlot": 2})
        );
        let h: Hardware =
            serde_json::from_value(serde_json::json!({"coreType": "standard-plus"})).unwrap();
        assert_eq!(h.core_type_code(), "standard-plus");
    }
}

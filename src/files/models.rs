//! The file object the service returns for inputs, templates and outputs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use crate::serde_util::{null_as_default, opt_u32, opt_u64};

/// A file stored on Rescale: an uploaded input, a template, or a job's output.
///
/// Names and paths come from the server and are untrusted: never join `relative_path`
/// onto a local directory without checking it.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobFile {
    /// File id, e.g. `WvNKdb`.
    pub id: String,
    /// File name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Kind of file as a number (see [`JobFile::file_type`]).
    #[serde(default, deserialize_with = "opt_u32")]
    pub type_id: Option<u32>,
    /// Path relative to the job's working directory, e.g. `airFoil2D/system/fvSchemes`.
    pub relative_path: Option<String>,
    /// Storage path on the service's side.
    pub path: Option<String>,
    /// Size in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub decrypted_size: Option<u64>,
    /// MD5 of the contents, hex.
    pub md5: Option<String>,
    /// Further checksums (SHA-512 on newer files).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub file_checksums: Vec<FileChecksum>,
    /// Absolute URL of the contents; some lists omit it.
    pub download_url: Option<String>,
    /// When the file was uploaded.
    pub date_uploaded: Option<DateTime<Utc>>,
    /// Owner's e-mail.
    pub owner: Option<String>,
    /// Users the file is shared with.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shared_with: Vec<String>,
    /// Whether the upload finished.
    pub is_uploaded: Option<bool>,
    /// Whether the file was deleted; some lists omit it.
    pub is_deleted: Option<bool>,
    /// Whether the web UI previews it.
    pub view_in_browser: Option<bool>,
    /// The file's wrapped encryption key, as the service sends it.
    pub encoded_encryption_key: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobFile {
    /// The kind of file, from `typeId`.
    pub fn file_type(&self) -> Option<FileType> {
        self.type_id.map(FileType::from_id)
    }

    /// The SHA-512 checksum (hex), when the service sent one.
    pub fn sha512(&self) -> Option<&str> {
        self.file_checksums
            .iter()
            .find(|c| c.hash_function.eq_ignore_ascii_case("sha512"))
            .map(|c| c.file_hash.as_str())
    }
}

/// One checksum of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FileChecksum {
    /// The hash function, e.g. `sha512`.
    #[serde(default)]
    pub hash_function: String,
    /// The digest, hex.
    #[serde(default)]
    pub file_hash: String,
}

/// The kind of a file (`typeId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// 1: an input file.
    Input,
    /// 2: a template.
    Template,
    /// 3: a parameter file.
    Parameter,
    /// 4: a script.
    Script,
    /// 5: an output of a job.
    Output,
    /// 7: a design-variable file.
    DesignVariable,
    /// 8: a case file.
    Case,
    /// 9: an optimizer file.
    Optimizer,
    /// 10: a temporary file.
    Temporary,
    /// 11: a checkpoint.
    Checkpoint,
    /// 12: a snapshot.
    Snapshot,
    /// A number this version of the crate does not know.
    Other(u32),
}

impl FileType {
    /// The kind for a `typeId`.
    pub fn from_id(id: u32) -> FileType {
        match id {
            1 => FileType::Input,
            2 => FileType::Template,
            3 => FileType::Parameter,
            4 => FileType::Script,
            5 => FileType::Output,
            7 => FileType::DesignVariable,
            8 => FileType::Case,
            9 => FileType::Optimizer,
            10 => FileType::Temporary,
            11 => FileType::Checkpoint,
            12 => FileType::Snapshot,
            other => FileType::Other(other),
        }
    }

    /// The `typeId` of this kind.
    pub fn id(self) -> u32 {
        match self {
            FileType::Input => 1,
            FileType::Template => 2,
            FileType::Parameter => 3,
            FileType::Script => 4,
            FileType::Output => 5,
            FileType::DesignVariable => 7,
            FileType::Case => 8,
            FileType::Optimizer => 9,
            FileType::Temporary => 10,
            FileType::Checkpoint => 11,
            FileType::Snapshot => 12,
            FileType::Other(n) => n,
        }
    }
}

//! A running job's live output and the steering of its runs: [`Jobs::run_directory`],
//! [`Jobs::tail`], [`Jobs::stop_run`] and [`Jobs::snapshot_run`]. Following a file as it
//! grows is [`Jobs::follow`](crate::Follow), above these.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;
use url::Url;

use super::Jobs;
use crate::client::Client;
use crate::error::{Invalid, Result};
use crate::files::{ByteStream, body_stream};
use crate::id::check_id;
use crate::serde_util::{lenient_text, null_as_default};
use crate::transport::ApiRequest;

/// One file of an in-progress run, as `directory-contents/` lists it.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunDirectoryEntry {
    /// The file's path in the run's working directory, e.g. `airFoil2D/0/U`: what
    /// [`Jobs::tail`] takes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// The service's link to the file's tail, e.g. `/api/jobs/XXXXX/runs/1/tail/airFoil2D/0/U`.
    /// Unversioned (`/api/`, even on v2): the crate never follows it, it builds the tail
    /// URL from the base URL and [`path`](RunDirectoryEntry::path).
    pub resource: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The last lines of a live file, from [`Tail::lines`].
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TailLines {
    /// What `file(1)` says of the file, e.g. `.../0/U: ASCII English text`.
    pub file_type: Option<String>,
    /// The lines, oldest first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub lines: Vec<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to [`Jobs::snapshot_run`].
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The exit code of the snapshot command: 0 is success (`exitcode`).
    #[serde(rename = "exitcode", default)]
    pub exit_code: Option<i64>,
    /// What the service says, e.g. `Generating snapshot.`.
    #[serde(default)]
    pub reason: Option<String>,
    /// The file id of the previous snapshot of this run (`lastSnapshotID`), if any.
    #[serde(rename = "lastSnapshotID", default, deserialize_with = "lenient_text")]
    pub last_snapshot_id: Option<String>,
    /// `data`, as sent (an empty text in the documented sample).
    #[serde(default)]
    pub data: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Snapshot {
    /// `true` when the exit code is 0.
    pub fn is_success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Checks a path inside a run's working directory and splits it into its parts, each to
/// become one escaped URL segment. Paths come from the server (`directory-contents/`) or
/// the caller and are untrusted: an empty part, `.`, `..` or a control character would
/// change which URL is asked for, so they are refused.
pub(crate) fn path_parts(path: &str) -> std::result::Result<Vec<&str>, Invalid> {
    let refuse =
        |reason: &str| Invalid::new("path", format!("`{}`: {reason}", path.escape_debug()));
    if path.is_empty() {
        return Err(Invalid::new("path", "must not be empty"));
    }
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts {
        if part.is_empty() {
            return Err(refuse(
                "a part is empty (a leading, trailing or doubled `/`)",
            ));
        }
        // Each part becomes one segment, so it passes the check every id passes.
        check_id("path", part).map_err(|e| refuse(&format!("a part {}", e.reason)))?;
    }
    Ok(parts)
}

/// A live file of a run being read; from [`Jobs::tail`]. Take the last lines with
/// [`lines`](Tail::lines), or the whole file as raw bytes with [`bytes`](Tail::bytes).
#[derive(Debug, Clone)]
#[must_use = "a tail does nothing until `lines` or `bytes` is used"]
pub struct Tail {
    client: Client,
    url: std::result::Result<Url, Invalid>,
}

impl Tail {
    /// The last `n` lines and the file type (`?lines=n`). `n` must be at least 1.
    pub async fn lines(self, n: u32) -> Result<TailLines> {
        if n == 0 {
            return Err(Invalid::new("lines", "must be at least 1").into());
        }
        let req = ApiRequest::get(self.url?).query("lines", &n.to_string());
        self.client.transport.json(req).await
    }

    /// The whole file as raw bytes, streamed in chunks (no `lines`): the same streaming as
    /// a download, cut when no byte arrives within the client's
    /// [`read_idle_timeout`](crate::ClientBuilder::read_idle_timeout). Not resumed: a
    /// live file may change between two requests.
    pub fn bytes(self) -> ByteStream {
        match self.url {
            Ok(url) => body_stream(self.client, ApiRequest::get(url)),
            Err(e) => Box::pin(futures::stream::once(async move { Err(e.into()) })),
        }
    }
}

impl Jobs {
    /// The files of an in-progress run (`GET jobs/{id}/runs/{run}/directory-contents/`), a
    /// bare list. The service answers only while the run is in progress.
    pub async fn run_directory(
        &self,
        job_id: impl AsRef<str>,
        run_id: impl AsRef<str>,
    ) -> Result<Vec<RunDirectoryEntry>> {
        let url = self.run_url(job_id.as_ref(), run_id.as_ref(), &["directory-contents"])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }

    /// A live file of an in-progress run (`GET jobs/{id}/runs/{run}/tail/{path}`), `path`
    /// as [`run_directory`](Jobs::run_directory) lists it: each of its `/`-separated parts
    /// becomes one escaped URL segment; empty, `.` and `..` parts and control characters
    /// are refused before anything is sent.
    ///
    /// Unlike every other path, this one does not end with a slash: it names a file, and
    /// the service's own links to it (each entry's `resource`) end without one. Whether
    /// the service would also answer `.../U/` is not documented; a redirect that adds the
    /// slash would be followed (on the configured origin).
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let last = client.jobs().tail("LeeKa", "1", "airFoil2D/log.simpleFoam").lines(20).await?;
    /// for line in &last.lines {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn tail(
        &self,
        job_id: impl AsRef<str>,
        run_id: impl AsRef<str>,
        path: impl AsRef<str>,
    ) -> Tail {
        let url = path_parts(path.as_ref()).and_then(|parts| {
            let mut rest = vec!["tail"];
            rest.extend(parts);
            let mut url = self.run_url(job_id.as_ref(), run_id.as_ref(), &rest)?;
            // A file, named as the service's `resource` links name it: no trailing slash.
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty();
            }
            Ok(url)
        });
        Tail {
            client: self.client.clone(),
            url,
        }
    }

    /// Stops an in-progress run (`POST jobs/{id}/runs/{run}/stop/`): its processes are
    /// killed and the output files present are uploaded. Not repeated after the request
    /// may have arrived: an unknown outcome is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub async fn stop_run(&self, job_id: impl AsRef<str>, run_id: impl AsRef<str>) -> Result<()> {
        let url = self.run_url(job_id.as_ref(), run_id.as_ref(), &["stop"])?;
        let req = ApiRequest::new(Method::POST, url)
            .operation("stop run")
            .job(job_id.as_ref());
        self.client.transport.empty(req).await
    }

    /// Snapshots an in-progress run (`POST jobs/{id}/runs/{run}/snapshot/`): its working
    /// directory is archived and uploaded as an output file of the run. Each call makes
    /// an archive, so it is never repeated after the request may have arrived: an unknown
    /// outcome is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub async fn snapshot_run(
        &self,
        job_id: impl AsRef<str>,
        run_id: impl AsRef<str>,
    ) -> Result<Snapshot> {
        let url = self.run_url(job_id.as_ref(), run_id.as_ref(), &["snapshot"])?;
        let req = ApiRequest::new(Method::POST, url)
            .operation("snapshot run")
            .job(job_id.as_ref());
        self.client.transport.json(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_and_hostile_parts_refused() {
        assert_eq!(
            path_parts("airFoil2D/0/U").unwrap(),
            ["airFoil2D", "0", "U"]
        );
        assert_eq!(path_parts("a b?#%").unwrap(), ["a b?#%"]);
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/",
            "../x",
            "a/./b",
            "a/..",
            "a\nb",
            "a\u{0}",
        ] {
            let err = path_parts(bad).unwrap_err();
            assert_eq!(err.field, "path", "{bad:?}");
        }
    }

    #[test]
    fn snapshot_fixture_decodes() {
        let s: Snapshot = serde_json::from_str(
            r#"{"data": "", "exitcode": 0, "lastSnapshotID": "gQLna", "reason": "Generating snapshot."}"#,
        )
        .unwrap();
        assert!(s.is_success());
        assert_eq!(s.last_snapshot_id.as_deref(), Some("gQLna"));
        assert_eq!(s.reason.as_deref(), Some("Generating snapshot."));
    }
}

//! Every output file of a job into a local directory.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use tokio::io::AsyncReadExt;

use super::download::Checker;
use super::progress::{ProgressEvent, ProgressFn, Reporter};
use super::{Files, JobFile};
use crate::client::Client;
use crate::error::{Error, Result, snippet};

/// A download of a job's outputs being set up, from [`Files::download_outputs`]; `.await`
/// it to run.
#[must_use = "a download does nothing until it is awaited"]
pub struct DownloadOutputs {
    client: Client,
    job_id: String,
    run_id: Option<String>,
    dir: PathBuf,
    concurrency: usize,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for DownloadOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOutputs")
            .field("job_id", &self.job_id)
            .field("run_id", &self.run_id)
            .field("dir", &self.dir)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// What [`DownloadOutputs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputsReport {
    /// Files downloaded, as local paths.
    pub downloaded: Vec<PathBuf>,
    /// Files already present with the right size and checksum, left as they were.
    pub skipped: Vec<PathBuf>,
    /// Bytes downloaded.
    pub bytes: u64,
}

impl Files {
    /// Downloads every output file of a job (all pages of `jobs/{id}/files/`) into
    /// `dir`, each at its `relativePath`, several at once (16 unless set with
    /// [`concurrency`](DownloadOutputs::concurrency)).
    ///
    /// Files already present with the right size and checksum are skipped, so running it
    /// again finishes what an interrupted run left. Paths come from the server and are
    /// untrusted: if any `relativePath` is absolute, holds `..`, or would otherwise land
    /// outside `dir`, the whole call is refused with [`Error::UnsafePath`] naming it
    /// before anything is written. Each file is downloaded as
    /// [`Download::to_path`](super::Download::to_path) does it.
    ///
    /// A `relativePath` is the file's path within its run, so a job with several runs (a
    /// DOE) holds one `airFoil2D/system/fvSchemes` per run. Two files that would land on
    /// one path are refused the same way, naming both, before anything is written (one
    /// would overwrite the other): download such a job run by run, each into a
    /// directory of its own, with [`run`](DownloadOutputs::run):
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut runs = client.jobs().runs("LeeKa").stream();
    /// while let Some(run) = runs.try_next().await? {
    ///     let dir = format!("outputs/LeeKa/run-{}", run.id);
    ///     client.files().download_outputs("LeeKa", dir).run(&run.id).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// It downloads the output files the service holds now. Before the job is over that
    /// may be some (a run snapshotted or stopped stores its files) or none, and a report
    /// of 0 files is not an error: wait for the job first
    /// ([`Jobs::wait_for_completion`](crate::jobs::Jobs::wait_for_completion)).
    /// `dir` is created even when there is nothing to download.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank job id or a concurrency of 0;
    /// [`Error::UnsafePath`] as above (nothing written); any error of listing the files
    /// or of one download ([`Download::to_path`](super::Download::to_path)): the first
    /// one ends the call, and files already complete stay (a second run skips them).
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let report = client.files().download_outputs("LeeKa", "outputs/LeeKa").await?;
    /// println!("{} downloaded, {} already here", report.downloaded.len(), report.skipped.len());
    /// # Ok(()) }
    /// ```
    pub fn download_outputs(
        &self,
        job_id: impl AsRef<str>,
        dir: impl AsRef<Path>,
    ) -> DownloadOutputs {
        DownloadOutputs {
            client: self.client.clone(),
            job_id: job_id.as_ref().to_owned(),
            run_id: None,
            dir: dir.as_ref().to_owned(),
            concurrency: DownloadOutputs::DEFAULT_CONCURRENCY,
            progress: None,
        }
    }
}

/// One file to fetch and where it goes.
struct Planned {
    file: JobFile,
    relative: String,
    target: PathBuf,
}

enum Done {
    Downloaded(PathBuf, u64),
    Skipped(PathBuf),
}

impl DownloadOutputs {
    /// How many files download at once unless [`concurrency`](Self::concurrency) says
    /// otherwise. Chosen by measurement (the `wire` section of `cargo bench --bench
    /// compare`: 100 small outputs over HTTPS at 20 ms a response and a connection): 4 at
    /// once took about 630 ms, 8 about 370 ms, 16 about 235 ms and 32 about 165 ms; 16
    /// keeps most of the gain with half the connections of 32.
    pub const DEFAULT_CONCURRENCY: usize = 16;

    /// How many files download at once (at least 1; by default
    /// [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY)).
    pub fn concurrency(mut self, files_at_once: usize) -> Self {
        self.concurrency = files_at_once;
        self
    }

    /// Downloads the outputs of one run of the job only (`jobs/{id}/runs/{run}/files/`):
    /// the way to fetch a job with several runs, each run into a directory of its own.
    pub fn run(mut self, run_id: impl AsRef<str>) -> Self {
        self.run_id = Some(run_id.as_ref().to_owned());
        self
    }

    /// Calls `f` as bytes arrive, for every file (events name the file's relative path).
    pub fn on_progress(mut self, f: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    async fn fetch_all(self) -> Result<OutputsReport> {
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        let jobs = self.client.jobs();
        let listing = match &self.run_id {
            Some(run_id) => jobs.run_files(&self.job_id, run_id),
            None => jobs.files(&self.job_id),
        };
        // One page after another: the order of this list is undocumented, and pages read at
        // once can miss a file that moved between them (most jobs fit in one page anyway).
        let files: Vec<JobFile> = listing
            .page_size(1000)
            .concurrency(1)
            .stream()
            .try_collect()
            .await?;
        // Every path is checked before the first byte is written.
        let plan = files
            .into_iter()
            .map(|file| {
                let relative = match &file.relative_path {
                    Some(p) if !p.is_empty() => p.clone(),
                    _ => file.name.clone(),
                };
                let target = safe_join(&self.dir, &relative)?;
                Ok(Planned {
                    file,
                    relative,
                    target,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        refuse_shared_targets(&self.dir, &plan)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|source| Error::Io {
                path: self.dir.clone(),
                source,
            })?;
        let results: Vec<Done> = stream::iter(plan)
            .map(|planned| self.fetch_one(planned))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut report = OutputsReport::default();
        for done in results {
            match done {
                Done::Downloaded(path, bytes) => {
                    report.bytes += bytes;
                    report.downloaded.push(path);
                }
                Done::Skipped(path) => report.skipped.push(path),
            }
        }
        report.downloaded.sort();
        report.skipped.sort();
        Ok(report)
    }

    async fn fetch_one(&self, planned: Planned) -> Result<Done> {
        let Planned {
            file,
            relative,
            target,
        } = planned;
        if let Some(parent) = target.parent() {
            make_dirs_inside(&self.dir, parent, &relative).await?;
        }
        if is_present(&file, &target).await? {
            let mut reporter = Reporter::new(self.progress.clone(), relative, file.decrypted_size);
            reporter.skipped(file.decrypted_size.unwrap_or(0));
            return Ok(Done::Skipped(target));
        }
        let bytes = Files {
            client: self.client.clone(),
        }
        .download(&file)
        .with_progress(self.progress.clone())
        .to_path(&target)
        .await?;
        Ok(Done::Downloaded(target, bytes))
    }
}

impl IntoFuture for DownloadOutputs {
    type Output = Result<OutputsReport>;
    type IntoFuture = BoxFuture<'static, Result<OutputsReport>>;

    fn into_future(self) -> Self::IntoFuture {
        // Its own errors quote the service's paths: the key out of them, and cut.
        let transport = Arc::clone(&self.client.transport);
        async move { self.fetch_all().await.map_err(|e| transport.redact(e)) }.boxed()
    }
}

/// Refuses a plan in which two files would be written to one path (the outputs of a job
/// with several runs share their `relativePath`s), or one file beneath another (which the
/// first would then be in the way of), naming both, before anything is written. Names
/// that differ only in case are one file on Windows and macOS.
fn refuse_shared_targets(dir: &Path, plan: &[Planned]) -> Result<()> {
    let key = |path: &Path| {
        let key = path.to_string_lossy().into_owned();
        if cfg!(any(windows, target_os = "macos")) {
            key.to_lowercase()
        } else {
            key
        }
    };
    let refuse = |planned: &Planned, reason: String| Error::UnsafePath {
        path: planned.relative.clone(),
        reason: format!(
            "{reason} (a job with several runs holds each run's files at their path within \
             the run: download each run into a directory of its own with \
             `DownloadOutputs::run`)"
        ),
    };
    let mut files = HashMap::with_capacity(plan.len());
    for planned in plan {
        if let Some(first) = files.insert(key(&planned.target), &planned.file.id) {
            let reason = format!(
                "output files `{}` and `{}` would both be written there, one over the other",
                snippet(first),
                snippet(&planned.file.id)
            );
            return Err(refuse(planned, reason));
        }
    }
    for planned in plan {
        let above = planned.target.ancestors().skip(1);
        for parent in above.take_while(|p| *p != dir && p.starts_with(dir)) {
            if let Some(file) = files.get(&key(parent)) {
                let reason = format!(
                    "output file `{}` would be written beneath output file `{}`, which is a \
                     file",
                    snippet(&planned.file.id),
                    snippet(file)
                );
                return Err(refuse(planned, reason));
            }
        }
    }
    Ok(())
}

/// Creates `parent` (a directory under `dir`) one level at a time, refusing to pass
/// through anything but a real directory: a link inside `dir` could lead outside it.
async fn make_dirs_inside(dir: &Path, parent: &Path, relative: &str) -> Result<()> {
    let io = Error::io_at;
    let below = parent.strip_prefix(dir).unwrap_or(Path::new(""));
    let mut at = dir.to_owned();
    for part in below.components() {
        at.push(part);
        match tokio::fs::symlink_metadata(&at).await {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => return Err(in_the_way(relative, &at)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&at)(e)),
        }
        match tokio::fs::create_dir(&at).await {
            Ok(()) => {}
            // Another download of the same run made it meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = tokio::fs::symlink_metadata(&at).await.map_err(io(&at))?;
                if !meta.is_dir() {
                    return Err(in_the_way(relative, &at));
                }
            }
            Err(e) => return Err(io(&at)(e)),
        }
    }
    Ok(())
}

/// The refusal of `relative` when `at`, a directory it needs inside the target directory,
/// is something else on this machine (a file, a link).
fn in_the_way(relative: &str, at: &Path) -> Error {
    Error::UnsafePath {
        path: relative.to_owned(),
        reason: format!(
            "its directory `{}` is a file or a link on this machine, not a plain directory \
             (move it out of the way; a link is never followed, as it could lead outside \
             the target directory)",
            at.display()
        ),
    }
}

/// `true` when `path` already holds `file`: a regular file of the size the file object
/// gives, whose checksum (when the file object has one) matches.
async fn is_present(file: &JobFile, path: &Path) -> Result<bool> {
    let Some(size) = file.decrypted_size else {
        return Ok(false);
    };
    let io = |source| Error::io_at(path)(source);
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.is_file() && meta.len() == size => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    }
    let mut checker = Checker::for_file(file);
    if matches!(checker, Checker::Nothing) {
        return Ok(true);
    }
    let mut local = tokio::fs::File::open(path).await.map_err(io)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = local.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        checker.update(&buf[..n]);
    }
    Ok(checker.verify("").is_ok())
}

/// `dir` joined with a path the service sent, or [`Error::UnsafePath`] when that path
/// could land anywhere but inside `dir`. Both `/` and `\` count as separators, so a
/// Windows-style path is judged the same on every platform.
pub(crate) fn safe_join(dir: &Path, relative: &str) -> Result<PathBuf> {
    let refuse = |reason: &str| Error::UnsafePath {
        path: relative.to_owned(),
        reason: reason.to_owned(),
    };
    if relative.trim().is_empty() {
        return Err(refuse("the path is empty"));
    }
    if relative.contains('\0') {
        return Err(refuse("the path holds a NUL character"));
    }
    if relative.starts_with(['/', '\\']) {
        return Err(refuse("the path is absolute"));
    }
    let bytes = relative.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(refuse("the path starts with a drive letter"));
    }
    let mut out = dir.to_owned();
    let mut parts = 0;
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => continue,
            ".." => return Err(refuse("the path climbs out with `..`")),
            // `:` names a drive or an alternate data stream on Windows.
            p if cfg!(windows) && p.contains(':') => {
                return Err(refuse("the path holds `:`"));
            }
            p => {
                out.push(p);
                parts += 1;
            }
        }
    }
    if parts == 0 {
        return Err(refuse("the path names no file"));
    }
    // Belt and braces: what was pushed must be plain names only.
    let extra = out
        .strip_prefix(dir)
        .map_err(|_| refuse("the path leaves the directory"))?;
    if !extra
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(refuse("the path leaves the directory"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::safe_join;
    use std::path::Path;

    #[test]
    fn joins_plain_relative_paths() {
        let dir = Path::new("out");
        assert_eq!(
            safe_join(dir, "airFoil2D/system/fvSchemes").unwrap(),
            Path::new("out/airFoil2D/system/fvSchemes")
        );
        assert_eq!(safe_join(dir, "./a//b").unwrap(), Path::new("out/a/b"));
    }

    #[test]
    fn refuses_paths_that_leave_the_directory() {
        let dir = Path::new("out");
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "C:\\Windows\\win.ini",
            "c:evil",
            "\\\\server\\share\\x",
            "..\\x",
            "",
            ".",
            "a\0b",
        ] {
            let err = safe_join(dir, bad).unwrap_err();
            assert!(
                matches!(&err, crate::Error::UnsafePath { path, .. } if path == bad),
                "{bad:?}: {err}"
            );
        }
    }
}

//! Downloads from `GET files/{id}/contents/`: streamed to disk, resumed with `Range`,
//! checked against the size and checksum the file object gives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use md5::Md5;
use reqwest::header::{CONTENT_RANGE, HeaderValue, RANGE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha512};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use url::Url;

use super::progress::{ProgressEvent, ProgressFn, Reporter};
use super::{ByteStream, Files, JobFile};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::id::check_id;
use crate::transport::ApiRequest;

/// How many times in a row a download may be resumed without receiving a byte.
const MAX_RESUMES_WITHOUT_PROGRESS: u32 = 3;

/// Buffer between the network and the disk.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// A download being set up, from [`Files::download`]: finish it with
/// [`to_path`](Download::to_path) or [`to_writer`](Download::to_writer).
///
/// The contents stream in chunks (constant memory). A connection that drops is resumed
/// with an HTTP `Range` request from the byte where it stopped. The result is checked
/// against the file object's size and SHA-512 (or its MD5 when it has no SHA-512).
#[must_use = "a download does nothing until `to_path` or `to_writer` is awaited"]
pub struct Download {
    client: Client,
    file: JobFile,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("file", &self.file.id)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Downloads `file` (read with [`get`](Files::get) or from a job's file list). Always
    /// from `files/{id}/contents/` on the configured host: the file object's
    /// `downloadUrl` is not followed, so the key never travels elsewhere.
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let files = client.files();
    /// let file = files.get("WvNKdb").await?;
    /// let bytes = files.download(&file).to_path("Crash_input.pc.gz").await?;
    /// # Ok(()) }
    /// ```
    pub fn download(&self, file: &JobFile) -> Download {
        Download {
            client: self.client.clone(),
            file: file.clone(),
            progress: None,
        }
    }
}

impl Download {
    /// Calls `f` as bytes arrive.
    pub fn on_progress(mut self, f: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    pub(crate) fn with_progress(mut self, progress: Option<ProgressFn>) -> Self {
        self.progress = progress;
        self
    }

    fn label(&self) -> String {
        match &self.file.relative_path {
            Some(p) if !p.is_empty() => p.clone(),
            _ => self.file.name.clone(),
        }
    }

    /// Writes the file to `path` and returns its size. The bytes go to a temporary file
    /// beside `path`, renamed to `path` only once complete and checked: on any error
    /// there is no file at `path` that looks complete (an existing one is left as it was).
    /// Missing parent directories are created.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or the temporary file cannot be written or the
    /// file renamed into place; [`Error::ChecksumMismatch`] when the size or the checksum
    /// of what arrived differs from the file object's; [`Error::Decode`] for a `206`
    /// answer starting elsewhere than asked; the errors of any request, once a dropped
    /// connection could not be resumed.
    pub async fn to_path(self, path: impl AsRef<Path>) -> Result<u64> {
        let target = path.as_ref();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let io = Error::io_at;
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(io(&parent))?;
        let mut temp = tempfile::Builder::new();
        temp.prefix(".rescale-download-").suffix(".part");
        // A temporary file is private (0600) by default; the downloaded file gets the mode
        // a file created by this process gets (0666 less the umask), given at creation.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = temp.tempfile_in(&parent).map_err(io(&parent))?;
        let handle = temp.as_file().try_clone().map_err(io(temp.path()))?;
        let mut writer =
            BufWriter::with_capacity(WRITE_BUFFER_BYTES, tokio::fs::File::from_std(handle));
        // On error `temp` is dropped here, which deletes the partial file.
        let size = self.fetch(&mut writer, temp.path()).await?;
        writer.flush().await.map_err(io(temp.path()))?;
        let file = writer.into_inner();
        file.sync_all().await.map_err(io(temp.path()))?;
        drop(file);
        temp.persist(target).map_err(|e| Error::Io {
            path: target.to_owned(),
            source: e.error,
        })?;
        Ok(size)
    }

    /// Writes the file to `writer` and returns its size. A resumed download continues
    /// where it stopped, so nothing is written twice; but a size or checksum mismatch is
    /// only known at the end, after the bytes were written: discard them on error.
    ///
    /// # Errors
    /// As [`to_path`](Download::to_path); [`Error::Io`] names `<writer>` when writing
    /// to `writer` fails.
    pub async fn to_writer<W>(self, writer: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let size = self.fetch(writer, Path::new("<writer>")).await?;
        writer.flush().await.map_err(|source| Error::Io {
            path: PathBuf::from("<writer>"),
            source,
        })?;
        Ok(size)
    }

    /// Streams the contents into `sink`, resuming after drops, then checks them. Errors
    /// carry text from the service (its names, its headers): the key is taken out.
    async fn fetch<W>(&self, sink: &mut W, sink_path: &Path) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let transport = &self.client.transport;
        let id = check_id("file.id", &self.file.id)?;
        let url = transport.endpoint(&["files", id, "contents"]);
        self.fetch_unredacted(sink, sink_path, &url)
            .await
            .map_err(|e| transport.call_error(e, &Method::GET, &url))
    }

    async fn fetch_unredacted<W>(&self, sink: &mut W, sink_path: &Path, url: &Url) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let transport = &self.client.transport;
        let label = self.label();
        let mut reporter = Reporter::new(self.progress.clone(), label.clone(), None);
        let mut checker = Checker::for_file(&self.file);
        let mut expected = self.file.decrypted_size;
        reporter.set_total(expected);
        reporter.started();

        let mut done: u64 = 0;
        let mut idle_attempts = 0;
        loop {
            let mut req = ApiRequest::get(url.clone());
            if done > 0 {
                let range = HeaderValue::from_str(&format!("bytes={done}-"))
                    .map_err(|e| Error::invalid("range", e.to_string()))?;
                req = req.header(RANGE, range);
                reporter.resumed();
            }
            let mut response = transport.send(req).await?;
            let (start, total) = body_start(&response)?;
            if expected.is_none() {
                expected = total;
                reporter.set_total(total);
            }
            if start > done {
                let message = format!(
                    "asked for `{label}` from byte {done}, the service sent it from byte {start}"
                );
                return Err(Error::decode(
                    response.status(),
                    "Content-Range",
                    message,
                    "",
                ));
            }
            // A server that ignores `Range` (200) sends everything again: skip what is here.
            let mut skip = done - start;
            let before = done;
            let outcome = loop {
                let chunk = match transport.next_chunk(&mut response).await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                };
                let fresh = if skip >= chunk.len() as u64 {
                    skip -= chunk.len() as u64;
                    continue;
                } else {
                    let cut = skip as usize;
                    skip = 0;
                    chunk.slice(cut..)
                };
                if let Some(limit) = expected
                    && done + fresh.len() as u64 > limit
                {
                    return Err(mismatch(&label, "size", limit, done + fresh.len() as u64));
                }
                sink.write_all(&fresh).await.map_err(|source| Error::Io {
                    path: sink_path.to_owned(),
                    source,
                })?;
                checker.update(&fresh);
                done += fresh.len() as u64;
                reporter.transferred(fresh.len() as u64);
            };
            // Every byte arrived, even if the connection then dropped: a resume from the
            // end would only be answered 416. The checksum tells whether they are right.
            if expected == Some(done) {
                break;
            }
            match outcome {
                None if expected.is_none() => break,
                _ if done > before => idle_attempts = 0,
                _ => idle_attempts += 1,
            }
            if idle_attempts >= MAX_RESUMES_WITHOUT_PROGRESS {
                return Err(match outcome {
                    Some(e) => e,
                    None => mismatch(&label, "size", expected.unwrap_or(done), done),
                });
            }
            tracing::debug!(
                file = %transport.redact_text(&label),
                done,
                "download interrupted; resuming with Range"
            );
        }
        if let Some(size) = expected
            && size != done
        {
            return Err(mismatch(&label, "size", size, done));
        }
        checker.verify(&label)?;
        reporter.finished();
        Ok(done)
    }
}

/// A stream of raw bytes: the body of the answer to `req`, chunk by chunk, each cut by the
/// read-idle timeout like a download's ([`Transport::next_chunk`](crate::transport)). Sent
/// (throttled, retried up to the headers) when first polled; ends after an error.
pub(crate) fn body_stream(client: Client, req: ApiRequest) -> ByteStream {
    enum State {
        Unsent(Client, ApiRequest),
        Reading(Client, reqwest::Response),
        Done,
    }
    futures::stream::unfold(State::Unsent(client, req), |state| async move {
        let (client, mut response) = match state {
            State::Unsent(client, req) => match client.transport.send(req).await {
                Ok(response) => (client, response),
                Err(e) => return Some((Err(e), State::Done)),
            },
            State::Reading(client, response) => (client, response),
            State::Done => return None,
        };
        match client.transport.next_chunk(&mut response).await {
            Ok(Some(chunk)) => Some((Ok(chunk), State::Reading(client, response))),
            Ok(None) => None,
            Err(e) => Some((Err(e), State::Done)),
        }
    })
    .boxed()
}

/// Where the body of a download answer starts, and the whole size if the answer says.
fn body_start(response: &reqwest::Response) -> Result<(u64, Option<u64>)> {
    if response.status() != StatusCode::PARTIAL_CONTENT {
        return Ok((0, response.content_length()));
    }
    let header = response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    parse_content_range(header).ok_or_else(|| {
        let message = format!("a 206 answer needs a `Content-Range: bytes N-M/T`, got `{header}`");
        Error::decode(response.status(), "Content-Range", message, "")
    })
}

/// `bytes 100-199/200` → (100, Some(200)); `bytes 100-199/*` → (100, None).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

fn mismatch(label: &str, check: &str, expected: impl ToString, actual: impl ToString) -> Error {
    Error::ChecksumMismatch {
        file: label.to_owned(),
        check: check.to_owned(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// The checksum a file object promises, and the hash of what arrived.
pub(crate) enum Checker {
    Sha512 { expected: String, hasher: Sha512 },
    Md5 { expected: String, hasher: Md5 },
    Nothing,
}

impl Checker {
    /// The SHA-512 from `fileChecksums` when there is one, else the `md5`.
    pub(crate) fn for_file(file: &JobFile) -> Self {
        let usable = |h: &str| !h.trim().is_empty();
        if let Some(sha) = file.sha512().filter(|h| usable(h)) {
            Checker::Sha512 {
                expected: sha.trim().to_ascii_lowercase(),
                hasher: Sha512::new(),
            }
        } else if let Some(md5) = file.md5.as_deref().filter(|h| usable(h)) {
            Checker::Md5 {
                expected: md5.trim().to_ascii_lowercase(),
                hasher: Md5::new(),
            }
        } else {
            Checker::Nothing
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Checker::Sha512 { hasher, .. } => hasher.update(bytes),
            Checker::Md5 { hasher, .. } => hasher.update(bytes),
            Checker::Nothing => {}
        }
    }

    /// Compares the hash of everything passed to [`update`](Checker::update).
    pub(crate) fn verify(self, label: &str) -> Result<()> {
        let (check, expected, actual) = match self {
            Checker::Sha512 { expected, hasher } => {
                ("sha512", expected, hex::encode(hasher.finalize()))
            }
            Checker::Md5 { expected, hasher } => ("md5", expected, hex::encode(hasher.finalize())),
            Checker::Nothing => return Ok(()),
        };
        if expected == actual {
            Ok(())
        } else {
            Err(mismatch(label, check, expected, actual))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range_is_read_leniently() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}

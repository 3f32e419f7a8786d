//! Streaming multipart uploads to `POST files/contents/`.

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt, stream};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::ReaderStream;

use super::progress::{ProgressEvent, ProgressFn, Reporter};
use super::{Files, JobFile};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::{Activity, ApiRequest, Body, FormFactory};

type BoxReader = Pin<Box<dyn AsyncRead + Send>>;

enum Source {
    /// Reopened for every attempt, so the upload can be retried.
    Path(PathBuf),
    /// Read once; a retry cannot make the body again.
    Reader {
        reader: Arc<Mutex<Option<BoxReader>>>,
        len: u64,
    },
}

/// An upload being set up; `.await` it to send. From [`Files::upload`] or
/// [`Files::upload_reader`].
///
/// The file travels as one multipart request (field `file`) with a `Content-Length`,
/// read in chunks as it is sent: never held in memory whole.
#[must_use = "an upload does nothing until it is awaited"]
pub struct Upload {
    client: Client,
    source: Source,
    name: Option<String>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Path(p) => format!("path {}", p.display()),
            Source::Reader { len, .. } => format!("reader of {len} bytes"),
        };
        f.debug_struct("Upload")
            .field("source", &source)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Uploads the file at `path` under its own file name. The file is reopened if the
    /// request has to be sent again. The file streams from disk, so its size does not
    /// matter, nor does how long it takes to send: the attempt timeout
    /// ([`ClientBuilder::attempt_timeout`](crate::ClientBuilder::attempt_timeout), 30 s)
    /// counts from the last chunk sent, and cuts only a stall.
    ///
    /// # Errors
    /// [`Error::Io`] when `path` cannot be found or read; [`Error::InvalidInput`] when
    /// it is not a regular file or the name is not a plain file name (nothing is sent);
    /// the errors of any request (a failed upload from a path is retried like a read).
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let file = client
    ///     .files()
    ///     .upload("inputs/model.inp")
    ///     .on_progress(|e| println!("{} / {:?}", e.done, e.total))
    ///     .await?;
    /// println!("uploaded as {}", file.id);
    /// # Ok(()) }
    /// ```
    pub fn upload(&self, path: impl AsRef<Path>) -> Upload {
        Upload {
            client: self.client.clone(),
            source: Source::Path(path.as_ref().to_owned()),
            name: None,
            progress: None,
        }
    }

    /// Uploads `len` bytes read from `reader` as a file called `name`. Exactly `len`
    /// bytes are sent; a reader that ends sooner fails the upload. The reader is read
    /// once, so a failed request is not sent again.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name is not a plain file name (nothing is
    /// sent); the errors of any request, not retried, including when the reader fails or
    /// ends before `len` bytes.
    ///
    /// ```no_run
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let data = b"1 2 3\n";
    /// let file = client
    ///     .files()
    ///     .upload_reader("numbers.txt", &data[..], data.len() as u64)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn upload_reader<R>(&self, name: impl Into<String>, reader: R, len: u64) -> Upload
    where
        R: AsyncRead + Send + 'static,
    {
        let reader: BoxReader = Box::pin(reader);
        Upload {
            client: self.client.clone(),
            source: Source::Reader {
                reader: Arc::new(Mutex::new(Some(reader))),
                len,
            },
            name: Some(name.into()),
            progress: None,
        }
    }
}

impl Upload {
    /// The name the file gets on Rescale (by default the path's file name).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Calls `f` as bytes are sent.
    pub fn on_progress(mut self, f: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    async fn send(self) -> Result<JobFile> {
        let (len, default_name) = match &self.source {
            Source::Path(path) => {
                let meta = tokio::fs::metadata(path)
                    .await
                    .map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                if !meta.is_file() {
                    return Err(Error::invalid(
                        "path",
                        format!("`{}` is not a regular file", path.display()),
                    ));
                }
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                (meta.len(), name)
            }
            Source::Reader { len, .. } => (*len, None),
        };
        let name = self.name.or(default_name).unwrap_or_default();
        if name.trim().is_empty() || name.contains(['/', '\\']) {
            return Err(Error::invalid(
                "file_name",
                "must be a plain, non-blank file name",
            ));
        }
        let progress = self.progress;
        let (progress_done, name_done) = (progress.clone(), name.clone());
        let (factory, idempotent): (FormFactory, bool) = match self.source {
            Source::Path(path) => {
                let factory = move |activity: &Activity| {
                    let path = path.clone();
                    let opened = stream::once(async move { tokio::fs::File::open(path).await });
                    // Capped: a file that grew since it was measured still sends `len` bytes.
                    let chunks = opened
                        .map_ok(move |file| ReaderStream::new(file.take(len)))
                        .try_flatten();
                    Some(form(chunks, len, &name, progress.clone(), activity.clone()))
                };
                (Arc::new(factory), true)
            }
            Source::Reader { reader, .. } => {
                let factory = move |activity: &Activity| {
                    let reader = reader.lock().ok()?.take()?;
                    Some(form(
                        ReaderStream::new(reader.take(len)),
                        len,
                        &name,
                        progress.clone(),
                        activity.clone(),
                    ))
                };
                (Arc::new(factory), false)
            }
        };
        let finished = Reporter::new(progress_done, name_done, Some(len));
        let url = self.client.transport.endpoint(&["files", "contents"]);
        let mut req = ApiRequest::new(Method::POST, url).operation("upload file");
        req.body = Body::Multipart(factory);
        if idempotent {
            // A repeated upload stores a second copy of a file, never starts a job.
            req = req.idempotent();
        }
        let file = self.client.transport.json(req).await?;
        finished.finished_whole();
        Ok(file)
    }
}

impl IntoFuture for Upload {
    type Output = Result<JobFile>;
    type IntoFuture = BoxFuture<'static, Result<JobFile>>;

    fn into_future(self) -> Self::IntoFuture {
        self.send().boxed()
    }
}

/// The multipart form of one attempt: field `file`, of known length, reporting progress
/// as the body is read (to the caller, and to the transport's `activity`, which keeps the
/// attempt alive while the body moves).
fn form<S>(
    chunks: S,
    len: u64,
    name: &str,
    progress: Option<ProgressFn>,
    activity: Activity,
) -> Form
where
    S: futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
{
    let mut reporter = Reporter::new(progress, name.to_owned(), Some(len));
    reporter.started();
    let counted = chunks.inspect_ok(move |chunk| {
        activity.touch();
        reporter.transferred(chunk.len() as u64);
    });
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/octet-stream"),
    );
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(counted), len)
        .file_name(name.to_owned())
        .headers(headers);
    Form::new().part("file", part)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_form_marks_progress_for_the_transport_as_its_file_is_sent() {
        let activity = Activity::new();
        let chunks = stream::iter([Ok(bytes::Bytes::from_static(b"mesh data"))]);
        let form = form(chunks, 9, "mesh.inp", None, activity.clone());
        let mut request = reqwest::Client::new()
            .post("http://127.0.0.1:9/api/v2/files/contents/")
            .multipart(form)
            .build()
            .unwrap();
        let body = request.body_mut().take().unwrap();
        let before = activity.last();

        tokio::time::advance(Duration::from_secs(5)).await;
        let sent = body.collect().await.unwrap().to_bytes();

        assert!(sent.windows(9).any(|w| w == b"mesh data"));
        assert_eq!(activity.last() - before, Duration::from_secs(5));
    }
}

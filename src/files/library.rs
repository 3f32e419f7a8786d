//! The user's file library: list, rename, retype, delete, and read a text file's lines.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{FileType, Files, JobFile};
use crate::error::{Error, Result};
use crate::jobs::check_id;
use crate::pagination::ListRequest;
use crate::serde_util::null_as_default;
use crate::transport::ApiRequest;

/// `{"lines": [...]}`, the answer of `files/{id}/lines/`.
#[derive(Deserialize)]
struct Lines {
    #[serde(default, deserialize_with = "null_as_default")]
    lines: Vec<String>,
}

impl Files {
    /// The URL `files/{id}/{rest...}/`.
    pub(super) fn file_url(&self, id: &str, rest: &[&str]) -> Result<url::Url> {
        let id = check_id("id", id)?;
        let mut segments = vec!["files", id];
        segments.extend_from_slice(rest);
        Ok(self.client.transport.endpoint(&segments))
    }

    /// Every file of the user (`GET files/`); filter by name with
    /// [`search`](ListRequest::search).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let meshes: Vec<_> = client.files().list().search("mesh").page_size(100).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListRequest<JobFile> {
        // Files have ids: pages may be read several at once, each file yielded once.
        ListRequest::with_ids(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["files"])),
        )
    }

    /// Renames a file (`PATCH files/{id}/` with `{"name": ...}`) and returns it as the
    /// service answers.
    pub async fn rename(&self, id: impl AsRef<str>, name: &str) -> Result<JobFile> {
        if name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be blank"));
        }
        self.patch(id.as_ref(), &json!({ "name": name })).await
    }

    /// Changes a file's kind (`PATCH files/{id}/` with `{"typeId": ...}`).
    pub async fn set_type(&self, id: impl AsRef<str>, file_type: FileType) -> Result<JobFile> {
        self.patch(id.as_ref(), &json!({ "typeId": file_type.id() }))
            .await
    }

    /// A PATCH that sets values: sending it twice has the effect of once, so it is retried.
    async fn patch(&self, id: &str, body: &serde_json::Value) -> Result<JobFile> {
        let url = self.file_url(id, &[])?;
        let req = ApiRequest::new(Method::PATCH, url)
            .idempotent()
            .json(body)?;
        self.client.transport.json(req).await
    }

    /// Deletes a file (`DELETE files/{id}/`, 204).
    ///
    /// Whether the service refuses to delete a file a job still references, or deletes it
    /// and leaves the job pointing at a missing file, is **not documented**; the crate does
    /// not check, so that choice is the caller's. (The fake server deletes it.) A retried
    /// delete whose first attempt went through answers 404.
    pub async fn delete(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.file_url(id.as_ref(), &[])?;
        self.client
            .transport
            .empty(ApiRequest::new(Method::DELETE, url))
            .await
    }

    /// The lines of a plain-text file (`GET files/{id}/lines/`), each as sent (with its
    /// `\n`).
    pub async fn lines(&self, id: impl AsRef<str>) -> Result<Vec<String>> {
        let url = self.file_url(id.as_ref(), &["lines"])?;
        let lines: Lines = self.client.transport.json(ApiRequest::get(url)).await?;
        Ok(lines.lines)
    }
}

//! Files: the [`Files`] handle (from [`Client::files`](crate::Client::files)), the file
//! object jobs refer to and produce, uploads, downloads and a job's outputs.
//!
//! | method | endpoint |
//! |---|---|
//! | [`get`](Files::get) | `GET files/{id}/` |
//! | [`upload`](Files::upload), [`upload_reader`](Files::upload_reader) | `POST files/contents/` (multipart, field `file`) |
//! | [`download`](Files::download) | `GET files/{id}/contents/` (with `Range` to resume) |
//! | [`download_outputs`](Files::download_outputs) | `GET jobs/{id}/files/`, then each file's contents |
//!
//! ```no_run
//! # async fn demo(client: rescale::Client) -> rescale::Result<()> {
//! let files = client.files();
//! let input = files.upload("model.inp").await?;
//! let again = files.get(&input.id).await?;
//! files.download(&again).to_path("copy-of-model.inp").await?;
//! files.download_outputs("LeeKa", "outputs").concurrency(8).await?;
//! # Ok(()) }
//! ```

mod download;
mod models;
mod outputs;
mod progress;
mod upload;

pub use download::Download;
pub use models::*;
pub use outputs::{DownloadOutputs, OutputsReport};
pub use progress::{ProgressEvent, ProgressKind};
pub use upload::Upload;

use crate::client::Client;
use crate::error::Result;
use crate::id::check_id;
use crate::transport::ApiRequest;

/// The file endpoints. Cheap to create and clone; owns a clone of the [`Client`].
#[derive(Debug, Clone)]
pub struct Files {
    client: Client,
}

impl Client {
    /// The file endpoints: uploads, downloads, metadata and a job's outputs.
    pub fn files(&self) -> Files {
        Files {
            client: self.clone(),
        }
    }
}

impl Files {
    /// A file's metadata (the file object) by id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a blank id, before
    /// sending; a not-found error when no file with this id is visible to the key.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<JobFile> {
        let id = check_id("id", id.as_ref())?;
        let url = self.client.transport.endpoint(&["files", id]);
        self.client.transport.json(ApiRequest::get(url)).await
    }
}

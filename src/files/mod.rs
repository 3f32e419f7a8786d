//! Files: the [`Files`] handle (from [`Client::files`](crate::Client::files)), the file
//! object jobs refer to and produce, uploads, downloads and a job's outputs.
//!
//! | method | endpoint |
//! |---|---|
//! | [`get`](Files::get) | `GET files/{id}/` |
//! | [`list`](Files::list) | `GET files/` (`search`, `page`, `page_size`) |
//! | [`rename`](Files::rename), [`set_type`](Files::set_type) | `PATCH files/{id}/` |
//! | [`delete`](Files::delete) | `DELETE files/{id}/` |
//! | [`lines`](Files::lines) | `GET files/{id}/lines/` |
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
mod library;
mod models;
mod outputs;
mod progress;
mod upload;

pub use download::Download;
pub use models::*;
pub use outputs::{DownloadOutputs, OutputsReport};
pub use progress::{ProgressEvent, ProgressKind};
pub use upload::Upload;

/// Raw bytes as they arrive, e.g. a live file from [`Tail::bytes`](crate::jobs::Tail::bytes):
/// `Send + 'static`; ends after the first error it yields.
pub type ByteStream = futures::stream::BoxStream<'static, crate::Result<bytes::Bytes>>;

pub(crate) use download::body_stream;

use crate::client::Client;
use crate::error::Result;
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
        let url = self.file_url(id.as_ref(), &[])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }
}

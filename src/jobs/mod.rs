//! The job endpoints: [`Jobs`], from [`Client::jobs`](crate::Client::jobs), and the job models.
//!
//! | method | endpoint | success |
//! |---|---|---|
//! | [`list`](Jobs::list) | `GET jobs/` | 200 |
//! | [`get`](Jobs::get) | `GET jobs/{id}/` | 200 |
//! | [`create`](Jobs::create) | `POST jobs/` | 201 |
//! | [`submit`](Jobs::submit) | `POST jobs/{id}/submit/` | 200 (201, 202) |
//! | [`wait_for_completion`](Jobs::wait_for_completion), [`watch`](Jobs::watch), [`wait_for_cluster_stop`](Jobs::wait_for_cluster_stop) | polls `GET jobs/{id}/statuses/` or `cluster_statuses/` | 200 |
//! | [`files`](Jobs::files) | `GET jobs/{id}/files/` | 200 |
//! | [`update`](Jobs::update) | `PUT jobs/{id}/` | 200 |
//! | [`patch`](Jobs::patch) | `PATCH jobs/{id}/` | 200 |
//! | [`stop`](Jobs::stop) | `POST jobs/{id}/stop/` | 202 |
//! | [`share`](Jobs::share) | `POST jobs/{id}/share/` | 2xx |
//! | [`statuses`](Jobs::statuses) | `GET jobs/{id}/statuses/` | 200 |
//! | [`cluster_statuses`](Jobs::cluster_statuses) | `GET jobs/{id}/cluster_statuses/` | 200 |
//! | [`delete`](Jobs::delete) | `DELETE jobs/{id}/` | 204 |
//! | [`runs`](Jobs::runs) | `GET jobs/{id}/runs/` | 200 |
//! | [`run`](Jobs::run) | `GET jobs/{id}/runs/{run}/` | 200 |
//! | [`run_files`](Jobs::run_files) | `GET jobs/{id}/runs/{run}/files/` | 200 |
//!
//! Any 2xx answer counts as success: the service is known to vary between 200, 201 and 202.

// First, so that the job lifecycle's methods come first on the `Jobs` page of the docs
// (rustdoc keeps the order it finds them in).
mod endpoints;

mod analysis;
mod attachments;
mod live;
mod models;
mod new_job;
mod received;
mod runs;
mod status;
mod variables;

pub use analysis::*;
pub use attachments::*;
pub use live::*;
pub use models::*;
pub use new_job::*;
pub use runs::*;
pub use status::*;
pub use variables::*;

use reqwest::Method;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::files::JobFile;
use crate::id::Invalid;
pub(crate) use crate::id::check_id;
use crate::pagination::ListRequest;
use crate::transport::ApiRequest;

/// The job endpoints. Cheap to create and clone; owns a clone of the [`Client`].
///
/// Methods come in the order of a job's life: [`list`](Jobs::list), [`get`](Jobs::get),
/// [`create`](Jobs::create), [`submit`](Jobs::submit), then waiting
/// ([`wait_for_completion`](Jobs::wait_for_completion), [`watch`](Jobs::watch),
/// [`wait_for_cluster_stop`](Jobs::wait_for_cluster_stop)), the outputs
/// ([`files`](Jobs::files), [`runs`](Jobs::runs)), changes ([`update`](Jobs::update),
/// [`patch`](Jobs::patch), [`stop`](Jobs::stop), [`share`](Jobs::share)), histories
/// ([`statuses`](Jobs::statuses), [`cluster_statuses`](Jobs::cluster_statuses)) and
/// [`delete`](Jobs::delete).
///
/// # Errors
/// Besides what each method names, any call can fail as every request can: an error
/// status from the service ([`Error::Api`], with its status and message), no answer
/// ([`Error::Transport`], [`Error::Timeout`]), an answer that does not fit the model
/// ([`Error::Decode`]), or a throttle pause longer than the retry policy waits
/// ([`Error::Throttled`]). Transient failures are retried first where that is safe.
///
/// ```no_run
/// use rescale::jobs::{Hardware, JobAnalysis, NewJob};
/// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
/// let jobs = client.jobs();
/// let new = NewJob::new("Example", vec![
///     JobAnalysis::new("user_included", "echo hi", Hardware::new("standard-plus", 1)).version("0"),
/// ]);
/// let job = jobs.create(&new).await?;
/// jobs.submit(&job.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Jobs {
    client: Client,
}

impl ListRequest<JobSummary> {
    /// Only finished, or only unfinished, jobs.
    pub fn state(self, state: JobState) -> Self {
        self.param("state", state.as_str())
    }

    /// Only jobs in this status (sent in the upper-case form, e.g. `EXECUTING`).
    pub fn job_status(self, status: JobStatus) -> Self {
        self.param("job_status", status.api_name())
    }
}

impl ListRequest<JobFile> {
    /// Only files whose name matches `text`.
    pub fn search(self, text: impl Into<String>) -> Self {
        self.param("search", text)
    }
}

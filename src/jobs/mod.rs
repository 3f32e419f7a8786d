//! The job endpoints: [`Jobs`], from [`Client::jobs`](crate::Client::jobs), and the job models.
//!
//! | method | endpoint | success |
//! |---|---|---|
//! | [`list`](Jobs::list) | `GET jobs/` | 200 |
//! | [`get`](Jobs::get) | `GET jobs/{id}/` | 200 |
//! | [`files`](Jobs::files) | `GET jobs/{id}/files/` | 200 |
//! | [`create`](Jobs::create) | `POST jobs/` | 201 |
//! | [`submit`](Jobs::submit) | `POST jobs/{id}/submit/` | 200 (201, 202) |
//! | [`update`](Jobs::update) | `PUT jobs/{id}/` | 200 |
//! | [`patch`](Jobs::patch) | `PATCH jobs/{id}/` | 200 |
//! | [`delete`](Jobs::delete) | `DELETE jobs/{id}/` | 204 |
//! | [`stop`](Jobs::stop) | `POST jobs/{id}/stop/` | 202 |
//! | [`share`](Jobs::share) | `POST jobs/{id}/share/` | 2xx |
//! | [`statuses`](Jobs::statuses) | `GET jobs/{id}/statuses/` | 200 |
//! | [`cluster_statuses`](Jobs::cluster_statuses) | `GET jobs/{id}/cluster_statuses/` | 200 |
//! | [`runs`](Jobs::runs) | `GET jobs/{id}/runs/` | 200 |
//! | [`run`](Jobs::run) | `GET jobs/{id}/runs/{run}/` | 200 |
//! | [`run_files`](Jobs::run_files) | `GET jobs/{id}/runs/{run}/files/` | 200 |
//!
//! Any 2xx answer counts as success: the service is known to vary between 200, 201 and 202.

mod analysis;
mod models;
mod runs;
mod status;

pub use analysis::*;
pub use models::*;
pub use runs::*;
pub use status::*;

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

impl Jobs {
    pub(crate) fn new(client: Client) -> Self {
        Jobs { client }
    }

    /// The URL `jobs/{id}/{rest...}/`, or the reason the id is refused.
    pub(crate) fn job_url(&self, id: &str, rest: &[&str]) -> std::result::Result<Url, Invalid> {
        let id = check_id("id", id)?;
        let mut segments = vec!["jobs", id];
        segments.extend_from_slice(rest);
        Ok(self.client.transport.endpoint(&segments))
    }

    /// Every job visible to the key, newest first: a [`ListRequest`] that also filters by
    /// [`state`](ListRequest::state) and [`job_status`](ListRequest::job_status).
    pub fn list(&self) -> ListRequest<JobSummary> {
        ListRequest::new(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["jobs"])),
        )
    }

    /// One job, in full.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<Job> {
        let url = self.job_url(id.as_ref(), &[])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }

    /// The output files of a job; filter by name with [`search`](ListRequest::search).
    pub fn files(&self, id: impl AsRef<str>) -> ListRequest<JobFile> {
        ListRequest::new(self.client.clone(), self.job_url(id.as_ref(), &["files"]))
    }

    /// Creates a job (saved, not started). Checked with [`NewJob::validate`] first:
    /// invalid input is an error and nothing is sent.
    pub async fn create(&self, job: &NewJob) -> Result<Job> {
        job.validate()?;
        let url = self.client.transport.endpoint(&["jobs"]);
        let req = ApiRequest::new(Method::POST, url)
            .operation("create job")
            .json(job)?;
        self.client.transport.json(req).await
    }

    /// Submits a saved job: it starts, and is billed.
    pub async fn submit(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &["submit"])?;
        let req = ApiRequest::new(Method::POST, url)
            .operation("submit job")
            .job(id.as_ref());
        self.client.transport.empty(req).await
    }

    /// Replaces a job's whole definition (PUT). Takes a [`NewJob`] or a [`Job`] read with
    /// [`get`](Jobs::get) and edited: fields the crate does not know are sent back as they
    /// came. Checked before anything is sent.
    pub async fn update<D: JobDefinition>(&self, id: impl AsRef<str>, job: &D) -> Result<Job> {
        let url = self.job_url(id.as_ref(), &[])?;
        job.validate()?;
        let req = ApiRequest::new(Method::PUT, url).json(job)?;
        self.client.transport.json(req).await
    }

    /// Changes some fields of a job (PATCH). The answer holds the fields that changed.
    pub async fn patch(&self, id: impl AsRef<str>, patch: &JobPatch) -> Result<PatchedJob> {
        let url = self.job_url(id.as_ref(), &[])?;
        patch.validate()?;
        let req = ApiRequest::new(Method::PATCH, url)
            .operation("patch job")
            .job(id.as_ref())
            .json(patch)?;
        self.client.transport.json(req).await
    }

    /// Deletes a job, keeping its input files. The service refuses (400) while the job's
    /// cluster is still running: wait for the cluster to stop first.
    ///
    /// A delete is retried after a lost answer; when the lost attempt had already deleted
    /// the job, the retry answers 404, so `is_not_found()` here means the job is gone.
    pub async fn delete(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &[])?;
        self.client
            .transport
            .empty(ApiRequest::new(Method::DELETE, url))
            .await
    }

    /// Deletes a job and its input files (`deleteInputFiles=True`).
    pub async fn delete_with_input_files(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &[])?;
        let req = ApiRequest::new(Method::DELETE, url).query("deleteInputFiles", "True");
        self.client.transport.empty(req).await
    }

    /// Asks the service to stop a job. Asynchronous: the job passes through `Stopping`
    /// and ends `Completed` with reason `User Terminated`.
    pub async fn stop(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &["stop"])?;
        self.client
            .transport
            .empty(ApiRequest::new(Method::POST, url).idempotent())
            .await
    }

    /// Shares a job with another user, by e-mail, with a message.
    pub async fn share(
        &self,
        id: impl AsRef<str>,
        email: &str,
        message: &str,
    ) -> Result<ShareResult> {
        let url = self.job_url(id.as_ref(), &["share"])?;
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(Error::invalid("email", "must be an e-mail address"));
        }
        let body = serde_json::json!({ "email": email, "message": message });
        let req = ApiRequest::new(Method::POST, url)
            .operation("share job")
            .job(id.as_ref())
            .json(&body)?;
        self.client.transport.json(req).await
    }

    /// The job's status history, newest first.
    pub fn statuses(&self, id: impl AsRef<str>) -> ListRequest<JobStatusEntry> {
        ListRequest::new(
            self.client.clone(),
            self.job_url(id.as_ref(), &["statuses"]),
        )
    }

    /// The job's cluster status history, newest first. The service answers 404 until the
    /// cluster exists.
    pub fn cluster_statuses(&self, id: impl AsRef<str>) -> ListRequest<ClusterStatusEntry> {
        ListRequest::new(
            self.client.clone(),
            self.job_url(id.as_ref(), &["cluster_statuses"]),
        )
    }
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

//! The job endpoints: one method each, in the order of a job's life.

use super::*;

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
        ListRequest::with_ids(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["jobs"])),
        )
    }

    /// One job, in full.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id, before sending; an error for which
    /// [`is_not_found`](Error::is_not_found) holds when no job with this id is visible to
    /// the key.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<Job> {
        let url = self.job_url(id.as_ref(), &[])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }

    /// Creates a job (saved, not started). Checked with [`NewJob::validate`] first:
    /// invalid input is an error and nothing is sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], naming the field, when the definition fails
    /// [`NewJob::validate`] (nothing is sent); [`Error::Api`] with status 400 and the
    /// service's field errors when it refuses the definition;
    /// [`Error::OutcomeUnknown`] when the request may have reached the service but no
    /// answer was read (a 5xx, a timeout, a lost connection). It is never retried, as a
    /// second copy would make a second job: look for the job before creating it again.
    pub async fn create(&self, job: &NewJob) -> Result<Job> {
        job.validate()?;
        let url = self.client.transport.endpoint(&["jobs"]);
        let req = ApiRequest::new(Method::POST, url)
            .operation("create job")
            .json(job)?;
        self.client.transport.json(req).await
    }

    /// Submits a saved job: it starts, and is billed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id; a not-found error for an unknown job;
    /// [`Error::OutcomeUnknown`], carrying the job id, when the request may have reached
    /// the service but no answer was read. It is never retried, as a second submit can
    /// start a second, billed run: read the job's [`statuses`](Jobs::statuses) first.
    pub async fn submit(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &["submit"])?;
        let req = ApiRequest::new(Method::POST, url)
            .operation("submit job")
            .job(id.as_ref());
        self.client.transport.empty(req).await
    }

    /// The output files of a job; filter by name with [`search`](ListRequest::search).
    pub fn files(&self, id: impl AsRef<str>) -> ListRequest<JobFile> {
        ListRequest::with_ids(self.client.clone(), self.job_url(id.as_ref(), &["files"]))
    }

    /// Replaces a job's whole definition (PUT). Takes a [`NewJob`] or a [`Job`] read with
    /// [`get`](Jobs::get) and edited: fields the crate does not know are sent back as they
    /// came. Checked before anything is sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id or a definition that fails validation
    /// (nothing is sent); [`Error::Api`] with status 400 when the service refuses the
    /// definition; a not-found error for an unknown job.
    pub async fn update<D: JobDefinition>(&self, id: impl AsRef<str>, job: &D) -> Result<Job> {
        let url = self.job_url(id.as_ref(), &[])?;
        job.validate()?;
        let req = ApiRequest::new(Method::PUT, url).json(job)?;
        self.client.transport.json(req).await
    }

    /// Changes some fields of a job (PATCH). The answer holds the fields that changed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id or a patch that fails
    /// [`JobPatch::validate`] (nothing is sent); [`Error::OutcomeUnknown`], carrying the
    /// job id, when the request may have reached the service but no answer was read
    /// (a patch is not repeated): read the job with [`get`](Jobs::get) to see.
    pub async fn patch(&self, id: impl AsRef<str>, patch: &JobPatch) -> Result<PatchedJob> {
        let url = self.job_url(id.as_ref(), &[])?;
        patch.validate()?;
        let req = ApiRequest::new(Method::PATCH, url)
            .operation("patch job")
            .job(id.as_ref())
            .json(patch)?;
        self.client.transport.json(req).await
    }

    /// Asks the service to stop a job. Asynchronous: the job passes through `Stopping`
    /// and ends `Completed` with reason `User Terminated`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id; a not-found error for an unknown job.
    pub async fn stop(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &["stop"])?;
        self.client
            .transport
            .empty(ApiRequest::new(Method::POST, url).idempotent())
            .await
    }

    /// Shares a job with another user, by e-mail, with a message.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id or an `email` without an `@` (nothing is
    /// sent); [`Error::OutcomeUnknown`], carrying the job id, when the request may have
    /// reached the service but no answer was read (a share is not repeated).
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

    /// Deletes a job, keeping its input files. The service refuses (400) while the job's
    /// cluster is still running: wait for the cluster to stop first.
    ///
    /// A delete is retried after a lost answer; when the lost attempt had already deleted
    /// the job, the retry answers 404, so `is_not_found()` here means the job is gone.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a blank id; [`Error::Api`] with status 400 while the
    /// job's cluster has not stopped (see [`wait_for_cluster_stop`](Jobs::wait_for_cluster_stop));
    /// a not-found error when the job does not exist (or no longer does).
    pub async fn delete(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &[])?;
        self.client
            .transport
            .empty(ApiRequest::new(Method::DELETE, url))
            .await
    }

    /// Deletes a job and its input files (`deleteInputFiles=True`).
    ///
    /// # Errors
    /// As [`delete`](Jobs::delete).
    pub async fn delete_with_input_files(&self, id: impl AsRef<str>) -> Result<()> {
        let url = self.job_url(id.as_ref(), &[])?;
        let req = ApiRequest::new(Method::DELETE, url).query("deleteInputFiles", "True");
        self.client.transport.empty(req).await
    }
}

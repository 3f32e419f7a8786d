//! What a job carries besides its definition: high-performance storage and custom fields
//! (set before submit), and, once it executes, its cluster's instances and connection
//! details.
//!
//! These endpoints are seen only in Rescale's own code, not in its published reference:
//! the shapes below come from its callers. Every model field is optional, unknown fields
//! are kept in `extra`, and calls whose answer has no known shape return `()` on any 2xx.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use serde_with::skip_serializing_none;

use super::{Jobs, check_id};
use crate::error::Result;
use crate::pagination::ListRequest;
use crate::serde_util::{lenient_text, null_as_default, opt_u32};
use crate::transport::ApiRequest;

/// One machine of a running job's cluster (`GET jobs/{id}/instances/`). Lenient: the
/// shape is known from Rescale's own code only.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Instance {
    /// Instance id (a number is read as text).
    #[serde(default, deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// `MPI_MASTER`, `MPI_SLAVE` or `CUSTOM` (kept as sent).
    pub role: Option<String>,
    /// Host name reachable from outside.
    pub public_hostname: Option<String>,
    /// SSH port.
    #[serde(default, deserialize_with = "opt_u32")]
    pub ssh_port: Option<u32>,
    /// User name to log in with.
    pub username: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How to reach a running job (`GET jobs/{id}/connection_details/`). Lenient.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConnectionDetails {
    /// Hosts and ports.
    #[serde(default, deserialize_with = "null_as_default")]
    pub connection_details: Vec<Connection>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One host and port of [`ConnectionDetails`].
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Connection {
    /// Host name or address.
    pub host: Option<String>,
    /// Port.
    #[serde(default, deserialize_with = "opt_u32")]
    pub port: Option<u32>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Jobs {
    /// Attaches high-performance storage to a job before it is submitted
    /// (`POST jobs/{id}/storage-devices/` with `{"storageDevice": {"id": ...}}`). Any 2xx
    /// answer is success; its body (of unknown shape) is not read. Not repeated after the
    /// request may have arrived.
    pub async fn attach_storage_device(
        &self,
        job_id: impl AsRef<str>,
        device_id: &str,
    ) -> Result<()> {
        let device_id = check_id("device_id", device_id)?;
        let url = self.job_url(job_id.as_ref(), &["storage-devices"])?;
        let body = json!({ "storageDevice": { "id": device_id } });
        let req = ApiRequest::new(Method::POST, url)
            .operation("attach storage device")
            .job(job_id.as_ref())
            .json(&body)?;
        self.client.transport.empty(req).await
    }

    /// Sets a job's custom fields before it is submitted (`POST jobs/{id}/custom-fields/`).
    /// `fields` is sent as given: which fields exist is set per company on Rescale, and
    /// the body's shape is known only from Rescale's own code. Any 2xx answer is
    /// success. Not repeated after the request may have arrived.
    pub async fn set_custom_fields<B: Serialize + ?Sized>(
        &self,
        job_id: impl AsRef<str>,
        fields: &B,
    ) -> Result<()> {
        let url = self.job_url(job_id.as_ref(), &["custom-fields"])?;
        let req = ApiRequest::new(Method::POST, url)
            .operation("set custom fields")
            .job(job_id.as_ref())
            .json(fields)?;
        self.client.transport.empty(req).await
    }

    /// The machines of a running job's cluster (`GET jobs/{id}/instances/`), once it executes.
    pub fn instances(&self, job_id: impl AsRef<str>) -> ListRequest<Instance> {
        ListRequest::new(
            self.client.clone(),
            self.job_url(job_id.as_ref(), &["instances"]),
        )
    }

    /// How to reach a running job (`GET jobs/{id}/connection_details/`).
    pub async fn connection_details(&self, job_id: impl AsRef<str>) -> Result<ConnectionDetails> {
        let url = self.job_url(job_id.as_ref(), &["connection_details"])?;
        self.client.transport.json(ApiRequest::get(url)).await
    }
}

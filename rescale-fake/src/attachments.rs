//! Job attachments: storage devices and custom fields (before submit), instances and
//! connection details (while the job executes).

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::FakeRescale;
use crate::lifecycle::EXECUTING;
use crate::page::PageReq;
use crate::routes::{json_object, ok};
use crate::state::{Life, Shared, lock};
use crate::util::{detail, json_response, not_found};

/// What was attached to a job.
#[derive(Default, Clone, Debug)]
pub struct Attached {
    pub storage_devices: Vec<String>,
    pub custom_fields: Option<Value>,
}

impl FakeRescale {
    /// The storage device ids attached to a job, in order.
    pub fn storage_devices(&self, job_id: &str) -> Vec<String> {
        lock(&self.shared)
            .pipeline
            .attachments
            .get(job_id)
            .map(|a| a.storage_devices.clone())
            .unwrap_or_default()
    }

    /// The custom fields last set on a job, as sent.
    pub fn custom_fields(&self, job_id: &str) -> Option<Value> {
        lock(&self.shared)
            .pipeline
            .attachments
            .get(job_id)
            .and_then(|a| a.custom_fields.clone())
    }
}

/// `Ok` for a job not submitted yet, else the answer.
fn draft(s: &Shared, id: &str) -> Result<(), Box<Response>> {
    match s.job(id) {
        None => Err(Box::new(not_found())),
        Some(job) if matches!(job.life, Life::Draft) => Ok(()),
        Some(_) => Err(Box::new(detail(
            StatusCode::BAD_REQUEST,
            "Job has already been submitted.",
        ))),
    }
}

/// POST jobs/{id}/storage-devices/ with `{"storageDevice": {"id": ...}}`
pub fn storage(s: &mut Shared, id: &str, body: &[u8], _now: Instant) -> Response {
    if let Err(resp) = draft(s, id) {
        return *resp;
    }
    let body = match json_object(body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let Some(device) = body
        .get("storageDevice")
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "storageDevice": ["This field is required."] }),
        );
    };
    let device = device.to_owned();
    let attached = s.pipeline.attachments.entry(id.to_owned()).or_default();
    attached.storage_devices.push(device.clone());
    json_response(
        StatusCode::CREATED,
        json!({ "storageDevice": { "id": device }, "job": id }),
    )
}

/// POST jobs/{id}/custom-fields/ (the values, as sent)
pub fn custom(s: &mut Shared, id: &str, body: &[u8], _now: Instant) -> Response {
    if let Err(resp) = draft(s, id) {
        return *resp;
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return detail(StatusCode::BAD_REQUEST, "JSON parse error.");
    };
    let attached = s.pipeline.attachments.entry(id.to_owned()).or_default();
    attached.custom_fields = Some(value.clone());
    json_response(StatusCode::CREATED, value)
}

fn executing(s: &Shared, id: &str, now: Instant) -> Option<bool> {
    s.job(id).map(|j| j.current(now).0 == EXECUTING)
}

/// GET jobs/{id}/instances/ (one master while the job executes)
pub fn instances(s: &Shared, id: &str, path: &str, query: Option<&str>, now: Instant) -> Response {
    let Some(running) = executing(s, id, now) else {
        return not_found();
    };
    let items = if running {
        vec![json!({
            "id": 1,
            "role": "MPI_MASTER",
            "publicHostname": "127.0.0.1",
            "sshPort": 22,
            "username": "fakeuser",
        })]
    } else {
        Vec::new()
    };
    match PageReq::parse(s, path, query) {
        Ok(req) => req.respond(items),
        Err(resp) => *resp,
    }
}

/// GET jobs/{id}/connection_details/
pub fn connection(s: &Shared, id: &str, now: Instant) -> Response {
    let Some(running) = executing(s, id, now) else {
        return not_found();
    };
    let details: Vec<Value> = if running {
        vec![json!({ "host": "127.0.0.1", "port": 22 })]
    } else {
        Vec::new()
    };
    ok(json!({ "connectionDetails": details }))
}

//! The endpoints a job pipeline touches beyond the jobs reference (live runs, the file
//! library, the account, job attachments): their routing table and dispatch, consulted by
//! the server after its own table.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::state::Shared;
use crate::util::{self, json_response};
use crate::{account, attachments, library, runs_live};

/// What these endpoints remember, kept in [`Shared`].
#[derive(Default)]
pub struct PipelineState {
    /// Running solvers by job id.
    pub solvers: std::collections::HashMap<String, runs_live::Solver>,
    /// Account settings.
    pub account: account::AccountState,
    /// Storage devices and custom fields by job id.
    pub attachments: std::collections::HashMap<String, attachments::Attached>,
}

/// The pattern and decoded parameters of a path these endpoints serve.
pub fn resolve(segs: &[&str]) -> Option<(&'static str, Vec<String>)> {
    let d = util::decode_segment;
    Some(match segs {
        ["jobs", id, "runs", run, "directory-contents"] => (
            "jobs/{id}/runs/{run}/directory-contents/",
            vec![d(id), d(run)],
        ),
        ["jobs", id, "runs", run, "stop"] => ("jobs/{id}/runs/{run}/stop/", vec![d(id), d(run)]),
        ["jobs", id, "runs", run, "snapshot"] => {
            ("jobs/{id}/runs/{run}/snapshot/", vec![d(id), d(run)])
        }
        ["jobs", id, "runs", run, "tail", path @ ..] if !path.is_empty() => {
            let path: Vec<String> = path.iter().map(|p| d(p)).collect();
            (
                "jobs/{id}/runs/{run}/tail/{path}",
                vec![d(id), d(run), path.join("/")],
            )
        }
        ["jobs", id, "storage-devices"] => ("jobs/{id}/storage-devices/", vec![d(id)]),
        ["jobs", id, "custom-fields"] => ("jobs/{id}/custom-fields/", vec![d(id)]),
        ["jobs", id, "instances"] => ("jobs/{id}/instances/", vec![d(id)]),
        ["jobs", id, "connection_details"] => ("jobs/{id}/connection_details/", vec![d(id)]),
        ["files", id, "lines"] => ("files/{id}/lines/", vec![d(id)]),
        ["users", "me"] => ("users/me/", vec![]),
        ["users", "me", "projects"] => ("users/me/projects/", vec![]),
        ["billing", "computeprices"] => ("billing/computeprices/", vec![]),
        _ => return None,
    })
}

/// The methods a pattern of these endpoints takes (the file object gains PATCH).
pub fn allowed(pattern: &str) -> Option<&'static [&'static str]> {
    Some(match pattern {
        "files/{id}/" => &["GET", "PATCH", "DELETE"],
        "jobs/{id}/runs/{run}/stop/"
        | "jobs/{id}/runs/{run}/snapshot/"
        | "jobs/{id}/storage-devices/"
        | "jobs/{id}/custom-fields/" => &["POST"],
        "jobs/{id}/runs/{run}/directory-contents/"
        | "jobs/{id}/runs/{run}/tail/{path}"
        | "jobs/{id}/instances/"
        | "jobs/{id}/connection_details/"
        | "files/{id}/lines/"
        | "users/me/"
        | "users/me/projects/"
        | "billing/computeprices/" => &["GET"],
        _ => return None,
    })
}

/// One request to these endpoints, already authenticated and allowed.
pub struct Call<'a> {
    pub method: &'a str,
    pub pattern: &'a str,
    pub params: &'a [String],
    pub body: &'a [u8],
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub now: Instant,
}

impl Call<'_> {
    fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }
}

/// Answers a call; `None` when it is not one of these endpoints.
pub fn answer(s: &mut Shared, c: &Call<'_>) -> Option<Response> {
    let (id, run) = (c.param(0), c.param(1));
    Some(match (c.method, c.pattern) {
        ("GET", "jobs/{id}/runs/{run}/directory-contents/") => {
            runs_live::directory(s, id, run, c.now)
        }
        ("GET", "jobs/{id}/runs/{run}/tail/{path}") => {
            runs_live::tail(s, id, run, c.param(2), c.query, c.now)
        }
        ("POST", "jobs/{id}/runs/{run}/stop/") => runs_live::stop(s, id, run, c.now),
        ("POST", "jobs/{id}/runs/{run}/snapshot/") => runs_live::snapshot(s, id, run, c.now),
        ("POST", "jobs/{id}/storage-devices/") => attachments::storage(s, id, c.body, c.now),
        ("POST", "jobs/{id}/custom-fields/") => attachments::custom(s, id, c.body, c.now),
        ("GET", "jobs/{id}/instances/") => attachments::instances(s, id, c.path, c.query, c.now),
        ("GET", "jobs/{id}/connection_details/") => attachments::connection(s, id, c.now),
        ("PATCH", "files/{id}/") => library::patch(s, id, c.body),
        ("GET", "files/{id}/lines/") => library::lines(s, id),
        ("GET", "users/me/") => account::me(s),
        ("GET", "users/me/projects/") => account::projects(s, c.path, c.query),
        ("GET", "billing/computeprices/") => account::compute_prices(),
        _ => return None,
    })
}

/// A JSON body as an object, or DRF's 400.
pub fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(util::detail(
            StatusCode::BAD_REQUEST,
            "JSON parse error - expected an object.",
        ))),
    }
}

/// `json_response` with 200.
pub fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

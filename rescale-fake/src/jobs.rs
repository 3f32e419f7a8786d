//! The `jobs/` endpoints.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalogue;
use crate::lifecycle::Status;
use crate::page::{Page, PageReq};
use crate::state::{Job, JobDef, Life, OWNER, Shared};
use crate::util::{self, detail, empty, json_response, not_found};
use crate::validate;

pub use crate::runs::{run, run_files, runs};

/// How a status is shown in a job summary.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Display {
    content: &'static str,
    label_class: &'static str,
    use_label: bool,
}

fn display(content: &'static str) -> Display {
    let (label_class, use_label) = match content {
        "" | "Completed" | "Stopped" | "Not Started" => ("", false),
        "Executing" | "Started" => ("label-success", true),
        "Stopping" | "Stop Requested" | "Force Stop" => ("label-warning", true),
        _ => ("label-info", true),
    };
    Display {
        content,
        label_class,
        use_label,
    }
}

/// A job as `GET jobs/` lists it, taken from the state under its lock and serialised
/// after it is released (fields in the order the API answers them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    analysis_names: Vec<Value>,
    cluster_status_display: Display,
    date_inserted: String,
    id: String,
    is_visible: bool,
    job_status: Display,
    name: String,
    owner: &'static str,
    shared_with: Vec<String>,
    storage: usize,
}

fn summary(s: &Shared, job: &Job, now: Instant) -> Summary {
    let (status, cluster) = job.current(now);
    let storage: usize = job
        .outputs
        .iter()
        .filter_map(|id| s.files.get(id))
        .map(|f| f.data.len())
        .sum();
    Summary {
        analysis_names: job.analysis_names(),
        cluster_status_display: display(cluster),
        date_inserted: util::date_z(&job.date_inserted),
        id: job.id.clone(),
        is_visible: true,
        job_status: display(status),
        name: job.name(),
        owner: OWNER,
        shared_with: job.shared_with.clone(),
        storage,
    }
}

/// GET jobs/: the page's summaries, to be serialised once the state's lock is released
/// ([`Page::into_response`]), or the error answer.
pub fn list(s: &Shared, path: &str, query: Option<&str>, now: Instant) -> Page<Summary> {
    let req = match PageReq::parse(s, path, query) {
        Ok(r) => r,
        Err(resp) => return Page::Answered(*resp),
    };
    let pairs = util::query_pairs(query);
    let state = util::query_get(&pairs, "state").map(str::to_owned);
    let job_status = util::query_get(&pairs, "job_status").map(str::to_owned);
    let keep = |job: &Job| {
        let (status, _) = job.current(now);
        let completed = status == "Completed";
        let state_ok = match state.as_deref() {
            Some("completed") => completed,
            Some("not_completed") => !completed,
            _ => true,
        };
        let status_ok = job_status
            .as_deref()
            .is_none_or(|want| status.to_uppercase().replace(' ', "_") == want);
        state_ok && status_ok
    };
    let (count, page): (usize, Vec<&Job>) = if state.is_none() && job_status.is_none() {
        let count = s.jobs.len();
        match req.range(count) {
            Err(resp) => return Page::Answered(*resp),
            Ok(r) => (
                count,
                s.jobs.values().rev().skip(r.start).take(r.len()).collect(),
            ),
        }
    } else {
        let all: Vec<&Job> = s.jobs.values().rev().filter(|j| keep(j)).collect();
        match req.range(all.len()) {
            Err(resp) => return Page::Answered(*resp),
            Ok(r) => (all.len(), all[r].to_vec()),
        }
    };
    let results = page.iter().map(|j| summary(s, j, now)).collect();
    Page::Items {
        req,
        count,
        results,
    }
}

fn invalid_pk(id: &str) -> Value {
    json!({ "id": [format!("Invalid pk \"{id}\" - object does not exist.")] })
}

/// Expands a file reference (`{"id": ...}` or a bare id) into the file object.
fn expand_file(s: &Shared, reference: &Value) -> Result<Value, Value> {
    let id = match reference {
        Value::String(id) => id.as_str(),
        Value::Object(m) => match m.get("id").and_then(Value::as_str) {
            Some(id) => id,
            None => return Err(json!({ "id": ["This field is required."] })),
        },
        _ => return Err(json!({ "non_field_errors": ["Invalid data."] })),
    };
    match s.files.get(id) {
        Some(f) => {
            let mut obj = s.file_json(f);
            if let (Some(d), Some(o)) = (reference.get("decompress"), obj.as_object_mut()) {
                o.insert("decompress".into(), d.clone());
            }
            Ok(obj)
        }
        None => Err(invalid_pk(id)),
    }
}

fn default(m: &mut Map<String, Value>, key: &str, value: Value) {
    m.entry(key.to_owned()).or_insert(value);
}

/// Fills the fields the service adds and expands file references; keeps unknown fields.
fn normalize(s: &Shared, mut body: Map<String, Value>) -> Result<Map<String, Value>, Value> {
    for (key, value) in [
        ("archiveFilters", json!([])),
        ("caseFile", Value::Null),
        ("description", json!("")),
        ("expectedRuns", Value::Null),
        ("includeNominalRun", json!(false)),
        ("isLowPriority", json!(false)),
        ("isTemplateDryRun", json!(false)),
        ("jobvariables", json!([])),
        ("monteCarloIterations", Value::Null),
        ("optimizer", Value::Null),
        ("paramFile", Value::Null),
        ("remoteVizConfig", Value::Null),
        ("resourceFilters", json!([])),
    ] {
        default(&mut body, key, value);
    }
    for key in ["caseFile", "paramFile"] {
        if let Some(r) = body.get(key).filter(|v| !v.is_null())
            && let Ok(f) = expand_file(s, r)
        {
            body.insert(key.into(), f);
        }
    }
    // The service refuses a project the account does not have (`users/me/projects/`). Its
    // wording is not known; this message is the fake's own, in DRF's field-error shape.
    if let Some(project) = body.get("projectId").filter(|p| !p.is_null()) {
        let accounts = &s.pipeline.account.projects;
        let known = project
            .as_str()
            .is_some_and(|p| accounts.iter().any(|(id, _)| id == p));
        if !known {
            let shown = project
                .as_str()
                .map_or_else(|| project.to_string(), str::to_owned);
            return Err(json!({
                "projectId": [format!("Invalid pk \"{shown}\" - object does not exist.")]
            }));
        }
    }
    let mut item_errors = Vec::new();
    if let Some(Value::Array(items)) = body.get_mut("jobanalyses") {
        for item in items.iter_mut() {
            let mut errors = Map::new();
            if let Some(item) = item.as_object_mut() {
                normalize_analysis(s, item, &mut errors);
            }
            item_errors.push(Value::Object(errors));
        }
    }
    if item_errors
        .iter()
        .any(|e| e.as_object().is_some_and(|m| !m.is_empty()))
    {
        return Err(json!({ "jobanalyses": item_errors }));
    }
    Ok(body)
}

fn normalize_analysis(s: &Shared, item: &mut Map<String, Value>, errors: &mut Map<String, Value>) {
    if let Some(Value::Object(a)) = item.get_mut("analysis") {
        let code = a
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let name = catalogue::analysis_name(&code).unwrap_or(&code).to_owned();
        default(a, "version", json!(""));
        default(a, "name", json!(name));
        let version_name = if code.starts_with("user_included") {
            json!("")
        } else {
            a["version"].clone()
        };
        default(a, "versionName", version_name);
    }
    for (key, value) in [
        ("envVars", json!({})),
        ("flags", json!({})),
        ("inputFiles", json!([])),
        ("postProcessScript", Value::Null),
        ("postProcessScriptCommand", json!("")),
        ("preProcessScript", Value::Null),
        ("preProcessScriptCommand", json!("")),
        ("templateTasks", json!([])),
        ("useMpi", json!(false)),
        ("useRescaleLicense", json!(false)),
    ] {
        default(item, key, value);
    }
    if let Some(Value::Array(files)) = item.get("inputFiles") {
        let expanded: Vec<Result<Value, Value>> = files.iter().map(|r| expand_file(s, r)).collect();
        if expanded.iter().any(Result::is_err) {
            let tree = expanded
                .into_iter()
                .map(|r| r.err().unwrap_or_else(|| json!({})))
                .collect();
            errors.insert("inputFiles".into(), Value::Array(tree));
        } else {
            let files = expanded.into_iter().filter_map(Result::ok).collect();
            item.insert("inputFiles".into(), Value::Array(files));
        }
    }
    if let Some(Value::Object(hw)) = item.get_mut("hardware") {
        let code = match hw.get("coreType") {
            Some(Value::Object(ct)) => ct.get("code").cloned().unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        hw.insert("coreType".into(), code.clone());
        default(hw, "slots", json!(1));
        default(hw, "walltime", Value::Null);
        default(hw, "type", json!("compute"));
        let cores = hw.get("coresPerSlot").and_then(Value::as_u64).unwrap_or(1);
        let memory = catalogue::memory_per_core(code.as_str().unwrap_or("")) * cores;
        hw.insert(
            "coreSummary".into(),
            json!({ "memoryPerNode": memory, "numberOfNodes": 1.0, "storagePerNode": 4000 }),
        );
    }
}

/// The definition of a job as a map (seeded jobs get theirs derived).
fn definition(s: &Shared, job: &Job) -> Map<String, Value> {
    let mut m = match &job.def {
        JobDef::Full(m) => m.clone(),
        JobDef::Seeded(_) => {
            let body = json!({
                "name": job.name(),
                "jobanalyses": [{
                    "analysis": { "code": "user_included", "version": "0" },
                    "command": "echo seeded",
                    "hardware": { "coreType": "standard-plus", "coresPerSlot": 1 },
                }],
            });
            let Value::Object(body) = body else {
                unreachable!()
            };
            normalize(s, body).unwrap_or_default()
        }
    };
    m.insert("id".into(), json!(job.id));
    m.insert("owner".into(), json!(OWNER));
    m.insert(
        "dateInserted".into(),
        json!(util::date_offset(&job.date_inserted)),
    );
    m
}

/// The full job as GET answers it: every other job, by creation order (the 2nd, the 4th,
/// ...), shows `coreType` as an object, so both shapes appear whatever the random ids.
fn full_for_get(s: &Shared, job: &Job) -> Value {
    let mut m = definition(s, job);
    if s.job_index.get(&job.id).is_some_and(|seq| seq % 2 == 1)
        && let Some(Value::Array(items)) = m.get_mut("jobanalyses")
    {
        for item in items {
            if let Some(Value::Object(hw)) = item.get_mut("hardware")
                && let Some(Value::String(code)) = hw.get("coreType")
            {
                let obj = catalogue::core_type_object(code);
                hw.insert("coreType".into(), obj);
            }
        }
    }
    Value::Object(m)
}

fn parse_body(body: &[u8]) -> Result<Value, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(detail(
            StatusCode::BAD_REQUEST,
            &format!("JSON parse error - {e}"),
        ))
    })
}

fn validated(s: &Shared, body: &[u8]) -> Result<Map<String, Value>, Box<Response>> {
    let body = parse_body(body)?;
    validate::job(&body, false).map_err(|e| Box::new(json_response(StatusCode::BAD_REQUEST, e)))?;
    let Value::Object(body) = body else {
        unreachable!("validated as an object")
    };
    normalize(s, body).map_err(|e| Box::new(json_response(StatusCode::BAD_REQUEST, e)))
}

/// POST jobs/
pub fn create(s: &mut Shared, body: &[u8]) -> Response {
    let mut def = match validated(s, body) {
        Ok(d) => d,
        Err(resp) => return *resp,
    };
    def.remove("id");
    let id = s.insert_job(Utc::now(), JobDef::Full(def), Life::Draft);
    let job = s.job(&id).expect("just inserted");
    json_response(StatusCode::CREATED, Value::Object(definition(s, job)))
}

/// GET jobs/{id}/
pub fn get(s: &Shared, id: &str) -> Response {
    match s.job(id) {
        Some(job) => json_response(StatusCode::OK, full_for_get(s, job)),
        None => not_found(),
    }
}

/// PUT jobs/{id}/
pub fn put(s: &mut Shared, id: &str, body: &[u8]) -> Response {
    if s.job(id).is_none() {
        return not_found();
    }
    let mut def = match validated(s, body) {
        Ok(d) => d,
        Err(resp) => return *resp,
    };
    for key in ["id", "owner", "dateInserted"] {
        def.remove(key);
    }
    let job = s.job_mut(id).expect("checked");
    job.def = JobDef::Full(def);
    let job = s.job(id).expect("checked");
    json_response(StatusCode::OK, Value::Object(definition(s, job)))
}

/// PATCH jobs/{id}/: answers the id and the fields sent; a completed job is left as is.
pub fn patch(s: &mut Shared, id: &str, body: &[u8], now: Instant) -> Response {
    let Some(job) = s.job(id) else {
        return not_found();
    };
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    if let Err(e) = validate::job(&body, true) {
        return json_response(StatusCode::BAD_REQUEST, e);
    }
    let Value::Object(changes) = body else {
        unreachable!("validated as an object")
    };
    let mut def = definition(s, job);
    if !job.is_completed(now) {
        for (k, v) in &changes {
            if !matches!(k.as_str(), "id" | "owner" | "dateInserted") {
                def.insert(k.clone(), v.clone());
            }
        }
        def = match normalize(s, def) {
            Ok(d) => d,
            Err(e) => return json_response(StatusCode::BAD_REQUEST, e),
        };
        let mut stored = def.clone();
        for key in ["id", "owner", "dateInserted"] {
            stored.remove(key);
        }
        s.job_mut(id).expect("checked").def = JobDef::Full(stored);
    }
    let mut answer = Map::new();
    answer.insert("id".into(), json!(id));
    for k in changes.keys() {
        answer.insert(k.clone(), def.get(k).cloned().unwrap_or(Value::Null));
    }
    json_response(StatusCode::OK, Value::Object(answer))
}

/// DELETE jobs/{id}/ (`deleteInputFiles=True` also deletes the input files).
pub fn delete(s: &mut Shared, id: &str, query: Option<&str>, now: Instant) -> Response {
    let Some(job) = s.job(id) else {
        return not_found();
    };
    if let Life::Live(t) = &job.life
        && t.cluster_current(now).is_none_or(|c| c.status != "Stopped")
    {
        return detail(
            StatusCode::BAD_REQUEST,
            "Job cannot be deleted while its cluster is running. Stop the job and wait for the cluster to stop.",
        );
    }
    let pairs = util::query_pairs(query);
    let delete_inputs =
        util::query_get(&pairs, "deleteInputFiles").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let job = s.remove_job(id).expect("checked");
    for f in &job.outputs {
        s.remove_file(f);
    }
    if delete_inputs {
        for f in job.input_file_ids() {
            s.remove_file(&f);
        }
    }
    empty(StatusCode::NO_CONTENT)
}

/// POST jobs/{id}/submit/
pub fn submit(s: &mut Shared, id: &str, now: Instant) -> Response {
    if s.job(id).is_none() {
        return not_found();
    }
    s.start_life(id, now);
    empty(StatusCode::OK)
}

/// POST jobs/{id}/stop/
pub fn stop(s: &mut Shared, id: &str, now: Instant) -> Response {
    let step = s.config.step;
    let Some(job) = s.job_mut(id) else {
        return not_found();
    };
    if let Life::Live(t) = &mut job.life {
        t.stop(now, Utc::now(), step);
    }
    empty(StatusCode::ACCEPTED)
}

/// POST jobs/{id}/share/
pub fn share(s: &mut Shared, id: &str, body: &[u8]) -> Response {
    if s.job(id).is_none() {
        return not_found();
    }
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let email = match body.get("email") {
        Some(Value::String(e)) if !e.trim().is_empty() => e.clone(),
        Some(Value::String(_)) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "email": ["This field may not be blank."] }),
            );
        }
        _ => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "email": ["This field is required."] }),
            );
        }
    };
    let job = s.job_mut(id).expect("checked");
    if !job.shared_with.contains(&email) {
        job.shared_with.push(email.clone());
    }
    json_response(
        StatusCode::CREATED,
        json!({ "recipient": email, "supportDesk": null }),
    )
}

fn history_page(
    s: &Shared,
    history: Vec<Status>,
    offset_dates: bool,
    path: &str,
    query: Option<&str>,
) -> Response {
    let req = match PageReq::parse(s, path, query) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let items = history
        .iter()
        .rev()
        .map(|st| {
            let date = if offset_dates {
                util::date_offset(&st.date)
            } else {
                util::date_z(&st.date)
            };
            json!({ "status": st.status, "statusDate": date, "statusReason": st.reason })
        })
        .collect();
    req.respond(items)
}

/// GET jobs/{id}/statuses/ (newest first)
pub fn statuses(s: &Shared, id: &str, path: &str, query: Option<&str>, now: Instant) -> Response {
    match s.job(id) {
        Some(job) => history_page(s, job.job_history(now), false, path, query),
        None => not_found(),
    }
}

/// GET jobs/{id}/cluster_statuses/ (404 before submit)
pub fn cluster_statuses(
    s: &Shared,
    id: &str,
    path: &str,
    query: Option<&str>,
    now: Instant,
) -> Response {
    match s.job(id).and_then(|j| j.cluster_history(now)) {
        Some(history) => history_page(s, history, true, path, query),
        None => not_found(),
    }
}

/// GET jobs/{id}/files/ and jobs/{id}/runs/{run}/files/
pub fn files(s: &Shared, id: &str, path: &str, query: Option<&str>) -> Response {
    match s.job(id) {
        Some(job) => crate::files::page_of_files(s, job.outputs.iter(), path, query),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FakeConfig;

    /// The typed page is byte for byte what the `json!` rendering answered: same keys,
    /// same order, same values.
    #[tokio::test]
    async fn a_listed_page_is_the_json_it_always_was() {
        let origin = "http://127.0.0.1:1".to_owned();
        let mut s = Shared::new(FakeConfig::default(), "key".to_owned(), origin.clone());
        s.seed_jobs(3);
        let now = Instant::now();
        let resp = list(&s, "/api/v2/jobs/", Some("page=2&page_size=1&x=y"), now).into_response();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let job = s.jobs.values().rev().nth(1).unwrap();
        let shown = |content: &str, class: &str, label: bool| json!({ "content": content, "labelClass": class, "useLabel": label });
        let link = |page: u32| format!("{origin}/api/v2/jobs/?page={page}&page_size=1&x=y");
        let expected = json!({
            "count": 3,
            "next": link(3),
            "previous": link(1),
            "results": [{
                "analysisNames": ["Custom User-Defined Software"],
                "clusterStatusDisplay": shown("Stopped", "", false),
                "dateInserted": job.date_inserted.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "id": job.id,
                "isVisible": true,
                "jobStatus": shown("Completed", "", false),
                "name": "Seeded job 2",
                "owner": OWNER,
                "sharedWith": [],
                "storage": 0,
            }],
        });
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }

    #[tokio::test]
    async fn a_page_past_the_end_is_invalid() {
        let mut s = Shared::new(FakeConfig::default(), "key".to_owned(), String::new());
        s.seed_jobs(3);
        let resp = list(
            &s,
            "/api/v2/jobs/",
            Some("page=4&page_size=1"),
            Instant::now(),
        );
        let resp = resp.into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"detail":"Invalid page."}"#);
    }
}

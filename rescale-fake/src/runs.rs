//! The `jobs/{id}/runs/` endpoints: one run per combination of the job's FixedRange
//! variables, so a parameter sweep shows its cases and their values.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::jobs;
use crate::page::PageReq;
use crate::state::{Job, JobDef, Shared};
use crate::util::{self, json_response, not_found};

/// The values of each run: one run per combination of the job's FixedRange variables
/// (`{minvalue, maxvalue, increment}`), or a single run without variables.
fn run_values(job: &Job) -> Vec<Vec<(String, f64)>> {
    const MAX_RUNS: usize = 1000;
    let variables = match &job.def {
        JobDef::Full(m) => m.get("jobvariables").and_then(Value::as_array).cloned(),
        JobDef::Seeded(_) => None,
    };
    let mut runs = vec![Vec::new()];
    for v in variables.unwrap_or_default() {
        if v.get("valueGeneratorType").and_then(Value::as_str) != Some("FixedRange") {
            continue;
        }
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let number = |k: &str| v.pointer(&format!("/valueGeneratorSettings/{k}"))?.as_f64();
        let (Some(min), Some(max), Some(inc)) =
            (number("minvalue"), number("maxvalue"), number("increment"))
        else {
            continue;
        };
        let values: Vec<f64> = (0..MAX_RUNS)
            .map(|i| min + inc * i as f64)
            .take_while(|x| inc > 0.0 && *x <= max + inc * 1e-9)
            .collect();
        let name = &name;
        runs = runs
            .iter()
            .flat_map(|run| {
                values.iter().map(move |x| {
                    let mut run = run.clone();
                    run.push((name.clone(), *x));
                    run
                })
            })
            .take(MAX_RUNS)
            .collect();
    }
    runs
}

/// The job's runs, once it has started executing.
fn runs_json(s: &Shared, job: &Job, now: Instant) -> Vec<Value> {
    let history = job.job_history(now);
    let completed = history.iter().find(|h| h.status == "Completed");
    let Some(started) = history
        .iter()
        .find(|h| h.status == "Executing")
        .or(completed)
    else {
        return Vec::new();
    };
    let sizes: Vec<usize> = job
        .outputs
        .iter()
        .filter_map(|f| s.files.get(f))
        .map(|f| f.data.len())
        .collect();
    let value = |(name, x): &(String, f64)| json!({"name": name, "value": x, "displayValue": x.to_string(), "isRelative": false});
    run_values(job)
        .iter()
        .enumerate()
        .map(|(i, values)| {
            json!({
                "dateCompleted": completed.map(|c| util::date_z(&c.date)),
                "dateStarted": util::date_z(&started.date),
                "displayOrder": i + 1,
                "id": (i + 1).to_string(),
                "isOptimal": false,
                "outputFileCount": sizes.len(),
                "outputFileSize": sizes.iter().sum::<usize>(),
                "parent": null,
                "type": 3,
                "variables": values.iter().map(value).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The run `run` of a job, if it has started.
fn run_json(s: &Shared, job: &Job, run: &str, now: Instant) -> Option<Value> {
    runs_json(s, job, now).into_iter().find(|r| r["id"] == run)
}

/// GET jobs/{id}/runs/
pub fn runs(s: &Shared, id: &str, path: &str, query: Option<&str>, now: Instant) -> Response {
    let Some(job) = s.job(id) else {
        return not_found();
    };
    let req = match PageReq::parse(s, path, query) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    req.respond(runs_json(s, job, now))
}

/// GET jobs/{id}/runs/{run}/
pub fn run(s: &Shared, id: &str, run: &str, now: Instant) -> Response {
    match s.job(id).and_then(|j| run_json(s, j, run, now)) {
        Some(r) => json_response(StatusCode::OK, r),
        None => not_found(),
    }
}

/// GET jobs/{id}/runs/{run}/files/ (every run shares the job's outputs)
pub fn run_files(
    s: &Shared,
    id: &str,
    run: &str,
    path: &str,
    query: Option<&str>,
    now: Instant,
) -> Response {
    match s.job(id) {
        Some(job) if run_json(s, job, run, now).is_some() => jobs::files(s, id, path, query),
        _ => not_found(),
    }
}

//! A running solver: an in-progress run whose log grows line by line on the fake's clock,
//! and the endpoints that read and steer it (`directory-contents/`, `tail/`, `stop/`,
//! `snapshot/`).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::FakeRescale;
use crate::lifecycle::{EXECUTING, Timeline};
use crate::routes::ok;
use crate::state::{JobDef, Life, Shared, lock};
use crate::util::{self, detail, not_found};

/// The log a solver writes, relative to the run's working directory.
pub const LOG_PATH: &str = "airFoil2D/log.simpleFoam";
/// A file that does not change while the solver runs.
const FIELD_PATH: &str = "airFoil2D/0/U";
const FIELD: &str = "/*--------------------------------*- C++ -*----------------------------------*\\\n\
| =========                 |                                                 |\n\
| \\\\      /  F ield         | OpenFOAM: The Open Source CFD Toolbox           |\n";

/// How a solver started by [`FakeRescale::start_solver`] behaves.
#[derive(Clone, Debug)]
pub struct SolverConfig {
    /// Lines the solver writes to its log (`airFoil2D/log.simpleFoam`), default 50.
    pub lines: usize,
    /// Time between two lines, default 50 ms.
    pub line_every: Duration,
    /// Keep the run in progress after the last line until it is stopped
    /// (`POST jobs/{id}/runs/1/stop/`) instead of completing two lines' time later.
    pub keep_running: bool,
}

impl Default for SolverConfig {
    fn default() -> Self {
        SolverConfig {
            lines: 50,
            line_every: Duration::from_millis(50),
            keep_running: false,
        }
    }
}

/// A solver's state.
pub struct Solver {
    /// When the first line is due.
    pub started: Instant,
    /// Time between two lines.
    pub every: Duration,
    lines: Vec<String>,
    /// When the run was stopped.
    pub stopped: Option<Instant>,
    /// The snapshot file ids, oldest first.
    pub snapshots: Vec<String>,
}

impl Solver {
    /// A solver whose log will have `lines` lines, one every `every` from `started`.
    pub fn new(started: Instant, every: Duration, lines: usize) -> Solver {
        Solver {
            started,
            every,
            lines: (0..lines).map(log_line).collect(),
            stopped: None,
            snapshots: Vec::new(),
        }
    }

    /// How many lines the log will have.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// How many lines are written by `now`.
    fn written(&self, now: Instant) -> usize {
        let until = self.stopped.map_or(now, |s| s.min(now));
        let Some(elapsed) = until.checked_duration_since(self.started) else {
            return 0;
        };
        let n = elapsed.as_nanos() / self.every.as_nanos().max(1);
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.lines.len())
    }

    fn log(&self, now: Instant) -> &[String] {
        &self.lines[..self.written(now)]
    }
}

/// Line `i` (from 0) of a solver's log: what a CFD solver prints per iteration.
fn log_line(i: usize) -> String {
    let residual = 1.0 / (i as f64 + 2.0);
    format!(
        "Time = {}  smoothSolver: Solving for Ux, Initial residual = {residual:.6}, Final residual = {:.6}, No Iterations 5",
        i + 1,
        residual / 10.0
    )
}

impl FakeRescale {
    /// Creates and submits a job whose single run is a solver writing its log
    /// (`airFoil2D/log.simpleFoam`) line by line, and returns the job id. The run is in
    /// progress from the job's `Executing` status (five steps after submit); see
    /// [`SolverConfig`] for when it ends.
    pub fn start_solver(&self, config: SolverConfig) -> String {
        let mut s = lock(&self.shared);
        let now = Instant::now();
        let step = s.config.step;
        let executing = if config.keep_running {
            Duration::from_secs(24 * 3600)
        } else {
            config.line_every * (config.lines as u32 + 2)
        };
        let def: Map<String, Value> = serde_json::from_value(json!({
            "name": "airFoil2D solver",
            "jobanalyses": [{
                "analysis": { "code": "user_included", "version": "0", "name": "Custom User-Defined Software" },
                "command": "simpleFoam -case airFoil2D",
                "hardware": { "coreType": "standard-plus", "coresPerSlot": 1, "slots": 1, "walltime": 1 },
                "inputFiles": [],
            }],
            "jobvariables": [],
        }))
        .expect("an object");
        let timeline = Timeline::solver(now, Utc::now(), step, executing);
        let id = s.insert_job(
            Utc::now(),
            JobDef::Full(def),
            Life::Live(Box::new(timeline)),
        );
        s.pipeline.solvers.insert(
            id.clone(),
            Solver::new(now + step * 5, config.line_every, config.lines),
        );
        crate::persist::save_if_changed(&mut s);
        id
    }
}

/// Whether run `run` of job `id` is in progress at `now`: `Err` is the answer otherwise.
fn in_progress(s: &Shared, id: &str, run: &str, now: Instant) -> Result<(), Box<Response>> {
    let Some(job) = s.job(id) else {
        return Err(Box::new(not_found()));
    };
    if run != "1" {
        return Err(Box::new(not_found()));
    }
    if job.current(now).0 != EXECUTING {
        return Err(Box::new(detail(
            StatusCode::BAD_REQUEST,
            "Run is not in progress.",
        )));
    }
    Ok(())
}

/// GET jobs/{id}/runs/{run}/directory-contents/ (a bare array)
pub fn directory(s: &Shared, id: &str, run: &str, now: Instant) -> Response {
    if let Err(resp) = in_progress(s, id, run, now) {
        return *resp;
    }
    let paths: &[&str] = if s.pipeline.solvers.contains_key(id) {
        &[FIELD_PATH, LOG_PATH]
    } else {
        &[]
    };
    let items: Vec<Value> = paths
        .iter()
        .map(|p| json!({ "path": p, "resource": format!("/api/jobs/{id}/runs/{run}/tail/{p}") }))
        .collect();
    ok(Value::Array(items))
}

/// GET jobs/{id}/runs/{run}/tail/{path}, with or without a trailing slash (`?lines=N` for
/// JSON, else the raw bytes)
pub fn tail(
    s: &Shared,
    id: &str,
    run: &str,
    path: &str,
    query: Option<&str>,
    now: Instant,
) -> Response {
    if let Err(resp) = in_progress(s, id, run, now) {
        return *resp;
    }
    let Some(solver) = s.pipeline.solvers.get(id) else {
        return not_found();
    };
    let lines: Vec<String> = match path {
        LOG_PATH => solver.log(now).to_vec(),
        FIELD_PATH => FIELD.lines().map(str::to_owned).collect(),
        _ => return not_found(),
    };
    let pairs = util::query_pairs(query);
    let Some(n) = util::query_get(&pairs, "lines") else {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(Bytes::from(text)))
            .expect("valid response");
    };
    let Ok(n) = n.parse::<usize>() else {
        return detail(StatusCode::BAD_REQUEST, "lines must be a whole number.");
    };
    let last = &lines[lines.len().saturating_sub(n)..];
    ok(json!({ "fileType": format!("/home/job_{id}/work/{path}: ASCII text"), "lines": last }))
}

/// POST jobs/{id}/runs/{run}/stop/: the log stops, the run and the job complete now.
pub fn stop(s: &mut Shared, id: &str, run: &str, now: Instant) -> Response {
    if let Err(resp) = in_progress(s, id, run, now) {
        return *resp;
    }
    if let Some(solver) = s.pipeline.solvers.get_mut(id) {
        solver.stopped = Some(now);
    }
    let step = s.config.step;
    if let Some(job) = s.job_mut(id)
        && let Life::Live(t) = &mut job.life
    {
        t.finish(now, Utc::now(), step);
    }
    ok(json!({}))
}

/// POST jobs/{id}/runs/{run}/snapshot/: stores the working directory as a snapshot file.
pub fn snapshot(s: &mut Shared, id: &str, run: &str, now: Instant) -> Response {
    if let Err(resp) = in_progress(s, id, run, now) {
        return *resp;
    }
    let log: String = s
        .pipeline
        .solvers
        .get(id)
        .map(|solver| solver.log(now).iter().map(|l| format!("{l}\n")).collect())
        .unwrap_or_default();
    let count = s.pipeline.solvers.get(id).map_or(0, |v| v.snapshots.len());
    let file = s.add_upload(&format!("snapshot-{}.tar", count + 1), log.into());
    if let Some(f) = s.files.get_mut(&file) {
        f.type_id = 12;
    }
    let previous = match s.pipeline.solvers.get_mut(id) {
        Some(solver) => {
            let previous = solver.snapshots.last().cloned();
            solver.snapshots.push(file);
            previous
        }
        None => None,
    };
    ok(json!({
        "data": "",
        "exitcode": 0,
        "lastSnapshotID": previous,
        "reason": "Generating snapshot.",
    }))
}

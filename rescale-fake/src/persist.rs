//! The state file: jobs, files (with their contents), status histories, solvers,
//! attachments and the account's `maxJobHours` as JSON, written atomically (a temporary file renamed over the old one) and read back at start.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::attachments::Attached;
use crate::lifecycle::{self, Status, Timeline};
use crate::runs_live::Solver;
use crate::state::{FileRec, Job, JobDef, Life, Shared};
use crate::util;

/// The version written; a file of another version is refused.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct Saved {
    version: u32,
    pub api_key: String,
    jobs: Vec<SavedJob>,
    files: Vec<SavedFile>,
    /// Uploaded file ids, oldest first.
    uploads: Vec<String>,
    /// The account's `maxJobHours` (absent in files written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_job_hours: Option<u32>,
    /// Storage devices and custom fields attached to jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<SavedAttached>,
    /// Running (or stopped) solvers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    solvers: Vec<SavedSolver>,
}

#[derive(Serialize, Deserialize)]
struct SavedAttached {
    job: String,
    storage_devices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_fields: Option<Value>,
}

/// A solver: its log is regenerated from the line count, its clock from the dates.
#[derive(Serialize, Deserialize)]
struct SavedSolver {
    job: String,
    started: DateTime<Utc>,
    line_every_ns: u64,
    lines: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stopped: Option<DateTime<Utc>>,
    snapshots: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct SavedJob {
    id: String,
    date_inserted: DateTime<Utc>,
    /// The number of a seeded job, whose definition is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seeded: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    definition: Option<Map<String, Value>>,
    shared_with: Vec<String>,
    life: SavedLife,
    outputs: Vec<String>,
    outputs_made: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SavedLife {
    Draft,
    Seeded,
    Live {
        job: Vec<SavedStatus>,
        cluster: Vec<SavedStatus>,
    },
}

#[derive(Serialize, Deserialize)]
struct SavedStatus {
    date: DateTime<Utc>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SavedFile {
    id: String,
    name: String,
    type_id: u8,
    relative_path: String,
    path: String,
    md5: String,
    sha512: String,
    date: DateTime<Utc>,
    content: SavedContent,
}

/// A file's bytes: as text, as hex, or as the description that regenerates them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SavedContent {
    Text(String),
    Hex(String),
    Generated { size: usize, seed: u64 },
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn save_statuses(statuses: Vec<Status>) -> Vec<SavedStatus> {
    statuses
        .into_iter()
        .map(|s| SavedStatus {
            date: s.date,
            status: s.status.to_owned(),
            reason: s.reason.map(str::to_owned),
        })
        .collect()
}

fn load_statuses(saved: Vec<SavedStatus>) -> io::Result<Vec<Status>> {
    let known = |name: &str| {
        lifecycle::known(name).ok_or_else(|| invalid(format!("unknown status `{name}`")))
    };
    saved
        .into_iter()
        .map(|s| {
            Ok(Status {
                date: s.date,
                status: known(&s.status)?,
                reason: s.reason.as_deref().map(known).transpose()?,
            })
        })
        .collect()
}

fn save_job(job: &Job) -> SavedJob {
    let (seeded, definition) = match &job.def {
        JobDef::Seeded(n) => (Some(*n), None),
        JobDef::Full(m) => (None, Some(m.clone())),
    };
    let life = match &job.life {
        Life::Draft => SavedLife::Draft,
        Life::Seeded => SavedLife::Seeded,
        Life::Live(t) => {
            let (job, cluster) = t.all_entries();
            SavedLife::Live {
                job: save_statuses(job),
                cluster: save_statuses(cluster),
            }
        }
    };
    SavedJob {
        id: job.id.clone(),
        date_inserted: job.date_inserted,
        seeded,
        definition,
        shared_with: job.shared_with.clone(),
        life,
        outputs: job.outputs.clone(),
        outputs_made: job.outputs_made,
    }
}

fn save_file(f: &FileRec) -> SavedFile {
    let content = match (f.seed, std::str::from_utf8(&f.data)) {
        (Some(seed), _) => SavedContent::Generated {
            size: f.data.len(),
            seed,
        },
        (None, Ok(text)) => SavedContent::Text(text.to_owned()),
        (None, Err(_)) => SavedContent::Hex(hex::encode(&f.data)),
    };
    SavedFile {
        id: f.id.clone(),
        name: f.name.clone(),
        type_id: f.type_id,
        relative_path: f.relative_path.clone(),
        path: f.path.clone(),
        md5: f.md5.clone(),
        sha512: f.sha512.clone(),
        date: f.date,
        content,
    }
}

fn save_solver(job: &str, solver: &Solver, now: Instant, date_now: DateTime<Utc>) -> SavedSolver {
    let date = |at| lifecycle::date_of(at, now, date_now);
    SavedSolver {
        job: job.to_owned(),
        started: date(solver.started),
        line_every_ns: u64::try_from(solver.every.as_nanos()).unwrap_or(u64::MAX),
        lines: solver.line_count(),
        stopped: solver.stopped.map(date),
        snapshots: solver.snapshots.clone(),
    }
}

/// Everything worth keeping of `s`.
fn snapshot(s: &Shared) -> Saved {
    let mut files: Vec<&FileRec> = s.files.values().collect();
    files.sort_by(|a, b| a.id.cmp(&b.id));
    let (now, date_now) = (Instant::now(), Utc::now());
    let mut solvers: Vec<SavedSolver> = s
        .pipeline
        .solvers
        .iter()
        .map(|(job, solver)| save_solver(job, solver, now, date_now))
        .collect();
    solvers.sort_by(|a, b| a.job.cmp(&b.job));
    let mut attachments: Vec<SavedAttached> = s
        .pipeline
        .attachments
        .iter()
        .map(|(job, a)| SavedAttached {
            job: job.clone(),
            storage_devices: a.storage_devices.clone(),
            custom_fields: a.custom_fields.clone(),
        })
        .collect();
    attachments.sort_by(|a, b| a.job.cmp(&b.job));
    Saved {
        version: VERSION,
        api_key: s.api_key.clone(),
        jobs: s.jobs.values().map(save_job).collect(),
        files: files.into_iter().map(save_file).collect(),
        uploads: s.uploads.values().cloned().collect(),
        max_job_hours: Some(s.pipeline.account.max_job_hours),
        attachments,
        solvers,
    }
}

/// Writes the state of `s` to `path`: a temporary file beside it, renamed over it.
pub fn save(s: &Shared, path: &Path) -> io::Result<()> {
    let json = serde_json::to_vec(&snapshot(s)).map_err(io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

/// Writes the state file if one is configured and something changed since the last write.
/// A failed write is reported on stderr and tried again after the next change.
pub fn save_if_changed(s: &mut Shared) {
    if !s.changed {
        return;
    }
    let Some(path) = s.config.state_path.clone() else {
        s.changed = false;
        return;
    };
    match save(s, &path) {
        Ok(()) => s.changed = false,
        Err(e) => eprintln!("rescale-fake: could not write {}: {e}", path.display()),
    }
}

/// Reads a state file; `None` when it does not exist.
pub fn load(path: &Path) -> io::Result<Option<Saved>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            let why = format!("cannot read the state file {}: {e}", path.display());
            return Err(io::Error::new(e.kind(), why));
        }
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "the state file {} is not valid: {e}",
            path.display()
        ))
    })?;
    if saved.version != VERSION {
        return Err(invalid(format!(
            "the state file {} has state version {} (this fake reads {VERSION})",
            path.display(),
            saved.version
        )));
    }
    Ok(Some(saved))
}

fn load_file(f: SavedFile) -> io::Result<FileRec> {
    let (data, seed) = match f.content {
        SavedContent::Text(t) => (Bytes::from(t), None),
        SavedContent::Hex(h) => (
            Bytes::from(hex::decode(h).map_err(|e| invalid(format!("file {}: {e}", f.id)))?),
            None,
        ),
        SavedContent::Generated { size, seed } => {
            (Bytes::from(util::pseudo_random(size, seed)), Some(seed))
        }
    };
    Ok(FileRec {
        id: f.id,
        name: f.name,
        type_id: f.type_id,
        relative_path: f.relative_path,
        path: f.path,
        data,
        seed,
        md5: f.md5,
        sha512: f.sha512,
        date: f.date,
    })
}

/// Puts the saved jobs and files into a fresh `s`; live jobs go on from where the wall
/// clock says they are.
pub fn restore(s: &mut Shared, saved: Saved) -> io::Result<()> {
    let now = Instant::now();
    let date_now = Utc::now();
    for f in saved.files {
        let f = load_file(f)?;
        s.files.insert(f.id.clone(), f);
    }
    for id in saved.uploads {
        s.next_file += 1;
        s.uploads.insert(s.next_file, id);
    }
    if let Some(hours) = saved.max_job_hours {
        s.pipeline.account.max_job_hours = hours;
    }
    for a in saved.attachments {
        let attached = Attached {
            storage_devices: a.storage_devices,
            custom_fields: a.custom_fields,
        };
        s.pipeline.attachments.insert(a.job, attached);
    }
    for v in saved.solvers {
        let instant = |date| lifecycle::instant_of(date, now, date_now);
        let mut solver = Solver::new(
            instant(v.started),
            Duration::from_nanos(v.line_every_ns),
            v.lines,
        );
        solver.stopped = v.stopped.map(instant);
        solver.snapshots = v.snapshots;
        s.pipeline.solvers.insert(v.job, solver);
    }
    for j in saved.jobs {
        let def = match (j.seeded, j.definition) {
            (Some(n), _) => JobDef::Seeded(n),
            (None, Some(m)) => JobDef::Full(m),
            (None, None) => return Err(invalid(format!("job {}: no definition", j.id))),
        };
        let life = match j.life {
            SavedLife::Draft => Life::Draft,
            SavedLife::Seeded => Life::Seeded,
            SavedLife::Live { job, cluster } => {
                let timeline =
                    Timeline::restore(load_statuses(job)?, load_statuses(cluster)?, now, date_now);
                if !j.outputs_made {
                    s.active.push(j.id.clone());
                }
                Life::Live(Box::new(timeline))
            }
        };
        let seq = s.next_job;
        s.next_job += 1;
        s.job_index.insert(j.id.clone(), seq);
        s.jobs.insert(
            seq,
            Job {
                id: j.id,
                date_inserted: j.date_inserted,
                def,
                shared_with: j.shared_with,
                life,
                outputs: j.outputs,
                outputs_made: j.outputs_made,
            },
        );
    }
    Ok(())
}

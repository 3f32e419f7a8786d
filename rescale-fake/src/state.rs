//! Everything the fake remembers, behind one mutex.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::lifecycle::{self, Status, Timeline};
use crate::util;
use crate::{FakeConfig, Fault, RecordedRequest};

/// The seed of the large output's generated content.
pub const LARGE_SEED: u64 = 0x5EED;

const SUMMARY: &[u8] = b"run,value\n1,0.140742\n";

/// The owner of everything in the fake.
pub const OWNER: &str = "user@example.com";

/// Locks, ignoring poisoning (a panicking test must not cascade).
pub fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fake's whole state.
pub struct Shared {
    pub config: FakeConfig,
    pub api_key: String,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub faults: VecDeque<(Fault, usize)>,
    pub latency: Duration,
    pub connect_latency: Duration,
    /// Connections accepted so far.
    pub connections: usize,
    pub requests: Vec<RecordedRequest>,
    /// Faults aimed at one endpoint, and arrival times.
    pub targeted: crate::targeted::Targeted,
    pub jobs: BTreeMap<u64, Job>,
    pub job_index: HashMap<String, u64>,
    pub files: HashMap<String, FileRec>,
    /// Uploaded files (type 1) in upload order, for `GET files/`.
    pub uploads: BTreeMap<u64, String>,
    pub(crate) next_job: u64,
    pub(crate) next_file: u64,
    /// Submitted jobs whose outputs are not created yet.
    pub(crate) active: Vec<String>,
    large: Option<(Bytes, String, String)>,
    /// Whether anything worth saving changed since the state file was written.
    pub changed: bool,
    /// Live runs, the account, job attachments (`routes.rs`).
    pub pipeline: crate::routes::PipelineState,
}

/// What a job was defined with.
pub enum JobDef {
    /// A job made by `seed_jobs`: only its number is kept, the rest is derived.
    Seeded(usize),
    /// A job created through the API: the normalized definition as answered.
    Full(Map<String, Value>),
}

/// Where a job is in its life.
pub enum Life {
    Draft,
    Seeded,
    Live(Box<Timeline>),
}

/// A job.
pub struct Job {
    pub id: String,
    pub date_inserted: DateTime<Utc>,
    pub def: JobDef,
    pub shared_with: Vec<String>,
    pub life: Life,
    /// Output file ids (typeId 5), once completed.
    pub outputs: Vec<String>,
    /// Whether the outputs have been made (seeded jobs make theirs when first asked).
    pub outputs_made: bool,
}

/// A stored file.
pub struct FileRec {
    pub id: String,
    pub name: String,
    pub type_id: u8,
    pub relative_path: String,
    pub path: String,
    pub data: Bytes,
    /// `Some(seed)` when `data` is `util::pseudo_random(data.len(), seed)`.
    pub seed: Option<u64>,
    pub md5: String,
    pub sha512: String,
    pub date: DateTime<Utc>,
}

impl Job {
    pub fn name(&self) -> String {
        match &self.def {
            JobDef::Seeded(n) => format!("Seeded job {n}"),
            JobDef::Full(m) => m
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        }
    }

    pub fn analysis_names(&self) -> Vec<Value> {
        match &self.def {
            JobDef::Seeded(_) => vec![json!("Custom User-Defined Software")],
            JobDef::Full(m) => analyses_of(m)
                .iter()
                .map(|a| a.pointer("/analysis/name").cloned().unwrap_or(Value::Null))
                .collect(),
        }
    }

    /// Commands of all analyses.
    pub fn commands(&self) -> Vec<String> {
        match &self.def {
            JobDef::Seeded(_) => vec!["echo seeded".to_owned()],
            JobDef::Full(m) => analyses_of(m)
                .iter()
                .filter_map(|a| a.get("command").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Input file ids referenced by the analyses.
    pub fn input_file_ids(&self) -> Vec<String> {
        match &self.def {
            JobDef::Seeded(_) => Vec::new(),
            JobDef::Full(m) => analyses_of(m)
                .iter()
                .filter_map(|a| a.get("inputFiles").and_then(Value::as_array))
                .flatten()
                .filter_map(|f| f.get("id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Job status history, oldest first.
    pub fn job_history(&self, now: Instant) -> Vec<Status> {
        match &self.life {
            Life::Draft => Vec::new(),
            Life::Seeded => lifecycle::seeded_histories(self.date_inserted).0,
            Life::Live(t) => t.job_history(now),
        }
    }

    /// Cluster status history, oldest first; `None` before submit.
    pub fn cluster_history(&self, now: Instant) -> Option<Vec<Status>> {
        match &self.life {
            Life::Draft => None,
            Life::Seeded => Some(lifecycle::seeded_histories(self.date_inserted).1),
            Life::Live(t) => Some(t.cluster_history(now)),
        }
    }

    /// `(job status, cluster status)` display contents; `""` before submit.
    pub fn current(&self, now: Instant) -> (&'static str, &'static str) {
        match &self.life {
            Life::Draft => ("", ""),
            Life::Seeded => (lifecycle::COMPLETED, lifecycle::STOPPED),
            Life::Live(t) => (
                t.job_current(now).map_or("", |s| s.status),
                t.cluster_current(now).map_or("", |s| s.status),
            ),
        }
    }

    pub fn is_completed(&self, now: Instant) -> bool {
        self.current(now).0 == lifecycle::COMPLETED
    }
}

/// The `jobanalyses` array of a job definition.
pub fn analyses_of(m: &Map<String, Value>) -> &[Value] {
    m.get("jobanalyses")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl Shared {
    pub fn new(config: FakeConfig, api_key: String, origin: String) -> Shared {
        Shared {
            api_key,
            origin,
            faults: VecDeque::new(),
            latency: config.latency,
            connect_latency: config.connect_latency,
            connections: 0,
            requests: Vec::new(),
            targeted: Default::default(),
            jobs: BTreeMap::new(),
            job_index: HashMap::new(),
            files: HashMap::new(),
            uploads: BTreeMap::new(),
            next_job: 0,
            next_file: 0,
            active: Vec::new(),
            large: None,
            changed: false,
            config,
            pipeline: Default::default(),
        }
    }

    /// Takes one use of the oldest injected fault, if any.
    pub fn take_fault(&mut self) -> Option<Fault> {
        while let Some((fault, left)) = self.faults.front_mut() {
            if *left == 0 {
                self.faults.pop_front();
                continue;
            }
            *left -= 1;
            let fault = fault.clone();
            if *left == 0 {
                self.faults.pop_front();
            }
            return Some(fault);
        }
        None
    }

    pub fn job(&self, id: &str) -> Option<&Job> {
        self.job_index.get(id).and_then(|seq| self.jobs.get(seq))
    }

    pub fn job_mut(&mut self, id: &str) -> Option<&mut Job> {
        let seq = *self.job_index.get(id)?;
        self.jobs.get_mut(&seq)
    }

    /// Stores a new job and returns its id.
    pub fn insert_job(&mut self, date_inserted: DateTime<Utc>, def: JobDef, life: Life) -> String {
        let seq = self.next_job;
        self.next_job += 1;
        let id = util::unique_id(5, |id| self.job_index.contains_key(id));
        self.job_index.insert(id.clone(), seq);
        self.changed = true;
        self.jobs.insert(
            seq,
            Job {
                id: id.clone(),
                date_inserted,
                def,
                shared_with: Vec::new(),
                life,
                outputs: Vec::new(),
                outputs_made: false,
            },
        );
        id
    }

    pub fn remove_job(&mut self, id: &str) -> Option<Job> {
        let seq = self.job_index.remove(id)?;
        self.active.retain(|a| a != id);
        self.changed = true;
        self.jobs.remove(&seq)
    }

    pub fn seed_jobs(&mut self, n: usize) {
        let now = Utc::now();
        let first = self.jobs.len();
        for i in 0..n {
            let inserted = now - chrono::Duration::minutes(((n - i) * 10) as i64);
            self.insert_job(inserted, JobDef::Seeded(first + i + 1), Life::Seeded);
        }
    }

    /// Marks a job as submitted at `now`.
    pub fn start_life(&mut self, id: &str, now: Instant) {
        let step = self.config.step;
        let Some(job) = self.job_mut(id) else { return };
        if !matches!(job.life, Life::Draft) {
            return;
        }
        let fails = job.commands().iter().any(|c| c.contains("exit 1"));
        job.life = Life::Live(Box::new(Timeline::submit(now, Utc::now(), step, fails)));
        self.active.push(id.to_owned());
        self.changed = true;
    }

    /// Creates the outputs of every job that has completed by `now`.
    pub fn settle(&mut self, now: Instant) {
        if self.active.is_empty() {
            return;
        }
        let due: Vec<String> = self
            .active
            .iter()
            .filter(|id| self.job(id).is_some_and(|j| j.is_completed(now)))
            .cloned()
            .collect();
        self.active.retain(|id| !due.contains(id));
        for id in due {
            self.make_outputs(&id, now);
        }
    }

    /// Makes the outputs of a seeded job the first time they are asked for.
    pub fn ensure_outputs(&mut self, job_id: &str, now: Instant) {
        if self
            .job(job_id)
            .is_some_and(|j| matches!(j.life, Life::Seeded) && !j.outputs_made)
        {
            self.make_outputs(job_id, now);
        }
    }

    /// Creates the output files of a completed job: `config.output_files` of them.
    fn make_outputs(&mut self, job_id: &str, now: Instant) {
        let Some(job) = self.job(job_id) else { return };
        let commands = job.commands();
        let history = job.job_history(now);
        let reason = history.last().and_then(|s| s.reason).unwrap_or("");
        let stdout: String = commands
            .iter()
            .map(|c| format!("$ {c}\n"))
            .chain(std::iter::once(format!("{reason}\n")))
            .collect();
        let log: String = history
            .iter()
            .map(|s| format!("{} {}\n", util::date_z(&s.date), s.status))
            .collect();
        let wanted = self.config.output_files;
        let mut ids = Vec::with_capacity(wanted);
        for i in 0..wanted {
            let (rel, data, seed) = match i {
                0 => ("stdout.txt".to_owned(), Bytes::from(stdout.clone()), None),
                1 => ("output/log.txt".to_owned(), Bytes::from(log.clone()), None),
                2 => (
                    "results/data.bin".to_owned(),
                    self.large_output().0,
                    Some(LARGE_SEED),
                ),
                3 => (
                    "results/summary.csv".to_owned(),
                    Bytes::from_static(SUMMARY),
                    None,
                ),
                n => {
                    let text = format!("part {n} of job {job_id}\n");
                    (format!("results/part_{n:04}.txt"), Bytes::from(text), None)
                }
            };
            let name = rel.rsplit('/').next().unwrap_or(&rel).to_owned();
            let path = format!("user/user_fake/output/job_{job_id}/run1/{rel}");
            ids.push(self.store_file(&name, &rel, path, 5, data, seed));
        }
        if let Some(job) = self.job_mut(job_id) {
            job.outputs = ids;
            job.outputs_made = true;
            if let Life::Live(t) = &mut job.life {
                t.outputs_done = true;
            }
        }
    }

    /// The large output's content and digests, made once.
    fn large_output(&mut self) -> (Bytes, String, String) {
        let size = self.config.large_output_size;
        self.large
            .get_or_insert_with(|| {
                let data = util::pseudo_random(size, LARGE_SEED);
                let (md5, sha) = util::digests(&data);
                (Bytes::from(data), md5, sha)
            })
            .clone()
    }

    /// Stores an uploaded file (type 1) and returns its id.
    pub fn add_upload(&mut self, name: &str, data: Bytes) -> String {
        let (md5, _) = util::digests(&data);
        let path = format!("user/user_fake/{name}-{md5}");
        let id = self.store_file(name, name, path, 1, data, None);
        self.uploads.insert(self.next_file, id.clone());
        id
    }

    /// Stores a file; `seed` says its content is the large generated one.
    fn store_file(
        &mut self,
        name: &str,
        relative_path: &str,
        path: String,
        type_id: u8,
        data: Bytes,
        seed: Option<u64>,
    ) -> String {
        self.next_file += 1;
        self.changed = true;
        let id = util::unique_id(6, |id| self.files.contains_key(id));
        let (md5, sha512) = match (seed, &self.large) {
            (Some(_), Some((_, md5, sha))) => (md5.clone(), sha.clone()),
            _ => util::digests(&data),
        };
        self.files.insert(
            id.clone(),
            FileRec {
                id: id.clone(),
                name: name.to_owned(),
                type_id,
                relative_path: relative_path.to_owned(),
                path,
                data,
                seed,
                md5,
                sha512,
                date: Utc::now(),
            },
        );
        id
    }

    pub fn remove_file(&mut self, id: &str) -> bool {
        self.uploads.retain(|_, f| f != id);
        self.changed = true;
        self.files.remove(id).is_some()
    }

    /// The file object as the API answers it.
    pub fn file_json(&self, f: &FileRec) -> Value {
        let key: String = f.sha512.chars().take(43).collect();
        json!({
            "typeId": f.type_id,
            "name": f.name,
            "dateUploaded": util::date_z(&f.date),
            "relativePath": f.relative_path,
            "encodedEncryptionKey": format!("{key}="),
            "downloadUrl": format!("{}/api/v2/files/{}/contents/", self.origin, f.id),
            "sharedWith": [],
            "decryptedSize": f.data.len(),
            "owner": OWNER,
            "path": f.path,
            "isUploaded": true,
            "viewInBrowser": !f.name.ends_with(".bin"),
            "id": f.id,
            "isDeleted": false,
            "md5": f.md5,
            "fileChecksums": [{ "hashFunction": "sha512", "fileHash": f.sha512 }],
        })
    }
}

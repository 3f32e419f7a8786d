//! Helpers shared by the batch tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures::TryStreamExt;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, RetryPolicy};
use rescale_batch::BatchItem;
use rescale_fake::FakeRescale;

/// The job of item `i`.
pub fn job(i: usize) -> NewJob {
    NewJob::new(
        format!("Sweep point {i}"),
        vec![
            JobAnalysis::new(
                "user_included",
                format!("echo point {i}"),
                Hardware::new("standard-plus", 1),
            )
            .version("0"),
        ],
    )
}

/// `n` items `point-1` … `point-n`, each with one input file written into `dir`.
pub fn items(n: usize, dir: &Path) -> Vec<BatchItem> {
    (1..=n)
        .map(|i| {
            let input = dir.join(format!("input-{i}.txt"));
            std::fs::write(&input, format!("point {i}\n")).unwrap();
            BatchItem::new(format!("point-{i}"), job(i)).input(input)
        })
        .collect()
}

/// A client of the fake at `base` with `key`: quick retries, Rescale's default limits.
pub fn client(base: &str, key: &str) -> Client {
    Client::builder()
        .token(key)
        .base_url(base)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap()
}

/// The URL of the Redis server the tests use: `RESCALE_TEST_REDIS_URL` when set (`.ci/run`
/// sets it), otherwise a private `redis-server` started on a free loopback port for this
/// test process. Its absence fails the test, naming what to install: a test is never
/// skipped for want of its server.
pub fn redis_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| match std::env::var("RESCALE_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => start_redis(),
    })
    .clone()
}

/// Starts `redis-server` on a free loopback port, with a watcher that stops it once this
/// process is gone, and waits until it answers.
fn start_redis() -> String {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let script = format!(
        "(redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & \
         r=$!; while kill -0 {parent} && kill -0 $r; do sleep 1; done; kill $r) >/dev/null 2>&1 &",
        parent = std::process::id()
    );
    let has_redis = std::process::Command::new("sh")
        .args(["-c", "command -v redis-server"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_redis,
        "these tests need a Redis server: install redis-server (Debian: apt-get install redis-server) or set RESCALE_TEST_REDIS_URL"
    );
    // The shell puts the server and its watcher in the background and returns at once.
    let started = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .status()
        .expect("starting redis-server");
    assert!(started.success(), "could not start redis-server: {started}");
    // Up when it answers PING; bounded so that a server that never starts fails the test.
    for _ in 0..600 {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let mut reply = [0u8; 7];
            if conn.write_all(b"PING\r\n").is_ok()
                && conn.read_exact(&mut reply).is_ok()
                && &reply == b"+PONG\r\n"
            {
                return format!("redis://127.0.0.1:{port}/");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server did not answer on 127.0.0.1:{port} within 30 s");
}

/// How the service ended up, read through the API and the fake's request log.
#[derive(Debug)]
pub struct Outcome {
    /// Item key → the ids of the jobs whose names carry its mark.
    pub jobs_by_key: HashMap<String, Vec<String>>,
    /// Job id → submit requests that reached the fake for it.
    pub submits: HashMap<String, usize>,
    /// Job ids with a status history (submitted).
    pub with_history: Vec<String>,
}

/// Reads every job of the fake and every submit it received.
pub async fn outcome(fake: &FakeRescale) -> Outcome {
    let client = client(&fake.base_url(), &fake.api_key());
    let jobs: Vec<_> = client
        .jobs()
        .list()
        .page_size(1000)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let mut jobs_by_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut with_history = Vec::new();
    for job in &jobs {
        let key = job
            .name
            .rsplit_once('/')
            .and_then(|(_, k)| k.strip_suffix(']'))
            .expect("every job carries a mark")
            .to_owned();
        jobs_by_key.entry(key).or_default().push(job.id.to_string());
        let history = client.jobs().statuses(&job.id).page(1).await.unwrap();
        if !history.results.is_empty() {
            with_history.push(job.id.to_string());
        }
    }
    let mut submits: HashMap<String, usize> = HashMap::new();
    for r in fake.requests() {
        if r.endpoint == "POST jobs/{id}/submit/" {
            let id = r
                .path
                .trim_end_matches("/submit/")
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            *submits.entry(id).or_default() += 1;
        }
    }
    Outcome {
        jobs_by_key,
        submits,
        with_history,
    }
}

impl Outcome {
    /// Exactly one job per key `point-1` … `point-n`, each submitted, and each sent one
    /// submit request (except the jobs in `resubmitted`, sent two: the first was refused
    /// before it was carried out).
    pub fn assert_exactly_once(&self, n: usize, resubmitted: &[&str]) {
        let mut keys: Vec<&String> = self.jobs_by_key.keys().collect();
        keys.sort();
        assert_eq!(
            self.jobs_by_key.len(),
            n,
            "jobs by key: {:?}",
            self.jobs_by_key
        );
        for i in 1..=n {
            let ids = &self.jobs_by_key[&format!("point-{i}")];
            assert_eq!(ids.len(), 1, "point-{i} has jobs {ids:?}");
            let id = &ids[0];
            assert!(
                self.with_history.contains(id),
                "point-{i} ({id}) was never submitted"
            );
            let expected = if resubmitted.contains(&format!("point-{i}").as_str()) {
                2
            } else {
                1
            };
            assert_eq!(
                self.submits.get(id).copied().unwrap_or(0),
                expected,
                "submit requests for point-{i} ({id})"
            );
        }
    }
}

//! Four processes, two per store (SQLite, Redis), sharing one budget through their store:
//! 1. each asks for far more than a budget whose burst is 100 and whose refill takes an
//!    hour: together they are granted exactly 100 (no two ever read the same state);
//! 2. each runs a batch of its own under a submission budget of 5 in 10 s (Rescale's 1000 an
//!    hour scaled down: burst 1, then one per 2.5 s): in the fake's log of arrivals, no 10 s
//!    window holds more than 5 submissions (two processes with budgets of their own would
//!    put 8 in 7.5 s), and every job is submitted once.
//!
//! `harness = false`: `main` is the parent, or (with `RESCALE_BATCH_TEST_CHILD` set) one
//! batch process.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rescale::{Admission, RateLimit, ThrottleConfig, ThrottleScope, ThrottleStore};
use rescale_batch::{Batch, BatchItem, RedisStore, SqliteStore};
use rescale_fake::FakeRescale;

const CHILD: &str = "RESCALE_BATCH_TEST_CHILD";
/// Submissions per process.
const PER_PROCESS: usize = 4;
/// The shared budget: 5 submissions in any 10 s (burst 1, then one per 2.5 s).
const COUNT: u32 = 5;
const PERIOD: Duration = Duration::from_secs(10);
/// Phase 1: a burst of 100, then one per 4000 s; each process asks 150 times at once.
const BURST_LIMIT: RateLimit = RateLimit::new(1000, Duration::from_secs(1000 * 3600));
const ASKS: usize = 150;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(id) = std::env::var(CHILD) {
        runtime.block_on(child(&id));
        return;
    }
    runtime.block_on(parent());
}

async fn open_store(spec: &str) -> Arc<dyn ThrottleStore> {
    match spec.split_once(':') {
        Some(("sqlite", path)) => Arc::new(SqliteStore::open(path).unwrap()),
        Some(("redis", prefix)) => Arc::new(
            RedisStore::connect(&common::redis_url())
                .await
                .unwrap()
                .prefix(prefix),
        ),
        other => panic!("unknown store {other:?}"),
    }
}

async fn child(id: &str) {
    let var = |name: &str| std::env::var(name).unwrap();
    let store = open_store(&var("RESCALE_BATCH_TEST_STORE")).await;
    if id.starts_with("burst") {
        let mut granted = 0;
        for _ in 0..ASKS {
            if store
                .admit(ThrottleScope::Submission, Some(BURST_LIMIT))
                .await
                .unwrap()
                == Admission::Granted
            {
                granted += 1;
            }
        }
        println!("granted {granted}");
        return;
    }
    let client = rescale::Client::builder()
        .token(var("RESCALE_BATCH_TEST_KEY"))
        .base_url(var("RESCALE_BATCH_TEST_BASE"))
        .throttle(ThrottleConfig::default().submissions(RateLimit::new(COUNT, PERIOD)))
        .throttle_store(store)
        .build()
        .unwrap();
    let dir = var("RESCALE_BATCH_TEST_DIR");
    let items = (1..=PER_PROCESS).map(|i| BatchItem::new(format!("{id}-{i}"), common::job(i)));
    let summary = Batch::new(client, Path::new(&dir).join(format!("{id}.ledger")))
        .concurrency(4)
        .run(items)
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
}

/// Starts child `id` with `store` against `fake`, and returns its output once it ended well.
async fn run_children(ids: [&str; 2], store: &str, fake: &FakeRescale, dir: &Path) -> Vec<String> {
    let mut children = Vec::new();
    for id in ids {
        let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
        cmd.env(CHILD, id)
            .env("RESCALE_BATCH_TEST_STORE", store)
            .env("RESCALE_BATCH_TEST_DIR", dir)
            .env("RESCALE_BATCH_TEST_BASE", fake.base_url())
            .env("RESCALE_BATCH_TEST_KEY", fake.api_key())
            .env("RESCALE_TEST_REDIS_URL", common::redis_url())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        children.push(cmd.spawn().unwrap());
    }
    let mut outputs = Vec::new();
    for child in children {
        let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
            .await
            .expect("a child process hung")
            .unwrap();
        assert!(
            out.status.success(),
            "{store}: a child process ended with {}",
            out.status
        );
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    outputs
}

/// Phase 1: the grants of two processes asking at once, together.
async fn burst(store: String) -> usize {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    run_children(["burst-a", "burst-b"], &store, &fake, dir.path())
        .await
        .iter()
        .map(|out| {
            out.trim()
                .strip_prefix("granted ")
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum()
}

/// Two processes sharing `store` (`sqlite:<path>` or `redis:<prefix>`) against one fake;
/// returns the most submissions the fake saw in any window of `PERIOD`.
async fn two_processes(store: String) -> (usize, Duration) {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    run_children(["a", "b"], &store, &fake, dir.path()).await;
    let times: Vec<Duration> = fake
        .request_times()
        .into_iter()
        .filter(|r| r.endpoint == "POST jobs/{id}/submit/")
        .map(|r| r.at)
        .collect();
    assert_eq!(
        times.len(),
        2 * PER_PROCESS,
        "{store}: every submission once"
    );
    let busiest = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + PERIOD)
                .count()
        })
        .max()
        .unwrap_or(0);
    (busiest, times[times.len() - 1] - times[0])
}

async fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let stores = |phase: &str| {
        let sqlite = format!(
            "sqlite:{}",
            dir.path().join(format!("{phase}.db")).display()
        );
        let redis = format!(
            "redis:test:{phase}:{}:{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        (sqlite, redis)
    };
    let (sqlite, redis) = stores("burst");
    let (by_sqlite, by_redis) = tokio::join!(burst(sqlite), burst(redis));
    eprintln!(
        "burst of 100: 2 processes asking {ASKS} times each were granted {by_sqlite} (SQLite), {by_redis} (Redis)"
    );
    assert_eq!((by_sqlite, by_redis), (100, 100));

    let (sqlite, redis) = stores("batches");
    let (by_sqlite, by_redis) = tokio::join!(two_processes(sqlite), two_processes(redis));
    for (store, (busiest, span)) in [("SQLite", by_sqlite), ("Redis", by_redis)] {
        eprintln!(
            "{store}: 2 processes, {} submissions over {span:.2?}; at most {busiest} in any {PERIOD:?} (budget {COUNT})",
            2 * PER_PROCESS
        );
        assert!(
            busiest <= COUNT as usize,
            "{store}: {busiest} submissions in one window of {PERIOD:?}"
        );
    }
}

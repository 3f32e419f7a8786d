//! A 1,000-job batch on the fake, under Rescale's budgets scaled from an hour to 10 s
//! (1000 submissions, 7200 other calls, 90000 job reads in any 10 s): how long until the
//! last submission, against the least the budget allows, and how many submissions were
//! lost or duplicated. With each throttle store.
//!
//! `cargo bench -p rescale-batch --all-features --bench thousand` (set
//! `RESCALE_TEST_REDIS_URL` for the Redis figure).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{InProcessStore, RateLimit, ThrottleConfig, ThrottleStore};
use rescale_batch::{Batch, BatchItem, SqliteStore};
use rescale_fake::FakeRescale;

const JOBS: usize = 1000;
const SCALE: Duration = Duration::from_secs(10);

async fn run(label: &str, store: Arc<dyn ThrottleStore>) {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let submissions = RateLimit::new(1000, SCALE);
    let client = rescale::Client::builder()
        .token(fake.api_key())
        .base_url(fake.base_url())
        .throttle(
            ThrottleConfig::default()
                .submissions(submissions)
                .others(RateLimit::new(7200, SCALE))
                .job_reads(RateLimit::new(90_000, SCALE)),
        )
        .throttle_store(store)
        .build()
        .unwrap();
    let items = (1..=JOBS).map(|i| {
        let job = NewJob::new(
            format!("Bench {i}"),
            vec![
                JobAnalysis::new(
                    "user_included",
                    format!("echo {i}"),
                    Hardware::new("standard-plus", 1),
                )
                .version("0"),
            ],
        );
        BatchItem::new(format!("job-{i}"), job)
    });
    let offset = fake.request_times().len();
    let started = Instant::now();
    let since_fake_start = fake.request_times().last().map_or(Duration::ZERO, |r| r.at);
    let summary = Batch::new(client, dir.path().join("bench.ledger"))
        .concurrency(16)
        .run(items)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let times: Vec<Duration> = fake.request_times()[offset..]
        .iter()
        .filter(|r| r.endpoint == "POST jobs/{id}/submit/")
        .map(|r| r.at.saturating_sub(since_fake_start))
        .collect();
    let mut per_job: HashMap<String, usize> = HashMap::new();
    for r in fake.requests() {
        if r.endpoint == "POST jobs/{id}/submit/" {
            *per_job.entry(r.path).or_default() += 1;
        }
    }
    let duplicated: usize = per_job.values().map(|n| n - 1).sum();
    let lost = JOBS - per_job.len();
    let created = fake.request_count("POST jobs/");
    let (first, last) = (times[0], times[times.len() - 1]);
    // The burst goes at once, then one per interval.
    let bound = submissions.interval() * (JOBS as u32 - submissions.burst());
    println!(
        "{label:>10}: {} submitted in {elapsed:.2?}; submissions from {first:.2?} to {last:.2?}: \
         {:.2?} against the budget's least {bound:.2?} ({:.3}x); creates {created}; lost {lost}, duplicated {duplicated}",
        summary.submitted_now,
        last - first,
        (last - first).as_secs_f64() / bound.as_secs_f64(),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("{JOBS} jobs, budgets of an hour scaled to {SCALE:?} (1000 submissions: burst 100, then one per {:.2?})",
            RateLimit::new(1000, SCALE).interval());
        run("in-process", Arc::new(InProcessStore::new())).await;
        let dir = tempfile::tempdir().unwrap();
        run("SQLite", Arc::new(SqliteStore::open(dir.path().join("throttle.db")).unwrap())).await;
        match std::env::var("RESCALE_TEST_REDIS_URL") {
            Ok(url) => {
                let prefix = format!("bench:{}", std::process::id());
                let store = rescale_batch::RedisStore::connect(&url).await.unwrap().prefix(prefix);
                run("Redis", Arc::new(store)).await;
            }
            Err(_) => println!("     Redis: not measured (set RESCALE_TEST_REDIS_URL)"),
        }
    });
}

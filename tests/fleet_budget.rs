//! The fleet's request budget on `rescale-fake`: 500 jobs watched from submission to outcome
//! with one list-and-poll loop cost at most 1/20 of the requests of 500 concurrent
//! `wait_for_completion` calls at the same interval, with identical outcomes.
//!
//! Why the ratio holds on any machine: both approaches watch the same 500 jobs, created but
//! not yet submitted, and the jobs are submitted only once each approach has polled
//! `GATE_POLLS` times (a condition on the fake's request counters, not a time). So the
//! per-job approach makes at least 500 × `GATE_POLLS` requests, however slow the machine.
//! The fleet makes one list request per poll (500 jobs fit one page of 1000) plus one
//! history read per job: `GATE_POLLS` + 500, plus the polls while the jobs are submitted and
//! run; a poll waits `INTERVAL` after the one before, so a slow machine makes fewer of those,
//! never more. With 25 gate polls at 200 ms: at least 12,500 against 525 + 5 per second
//! spent submitting and running (the budget holds for up to 20 s of that).

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, JobId, JobOutcome, ThrottleConfig};
use rescale_fake::{FakeConfig, FakeRescale};

const JOBS: usize = 500;
const INTERVAL: Duration = Duration::from_millis(200);
const GATE_POLLS: usize = 25;
/// Guards against a hang only; nothing is measured against it.
const PATIENCE: Duration = Duration::from_secs(600);

/// A fake whose jobs live 6 or 7 steps of 50 ms once submitted, and a client without
/// client-side throttling (the point is to count requests, not to pace them).
async fn fake() -> (FakeRescale, Client) {
    let fake = FakeRescale::start_with(FakeConfig {
        step: Duration::from_millis(50),
        ..FakeConfig::default()
    })
    .await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .throttle(ThrottleConfig::off())
        .build()
        .expect("the fake's URL and key are valid");
    (fake, client)
}

/// Creates the jobs (every fifth one fails when run) without submitting them.
async fn create_jobs(client: &Client) -> Vec<JobId> {
    stream::iter(0..JOBS)
        .map(|i| {
            let jobs = client.jobs();
            async move {
                let command = if i % 5 == 0 { "exit 1" } else { "echo hi" };
                let analysis =
                    JobAnalysis::new("user_included", command, Hardware::new("standard-plus", 1))
                        .version("0");
                let job = jobs
                    .create(&NewJob::new(format!("job {i}"), vec![analysis]))
                    .await?;
                Ok::<_, rescale::Error>(job.id)
            }
        })
        .buffered(16)
        .try_collect()
        .await
        .expect("the fake creates the jobs")
}

async fn submit_all(client: &Client, ids: &[JobId]) {
    let jobs = client.jobs();
    stream::iter(ids)
        .map(|id| jobs.submit(id))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .expect("the fake submits the jobs");
}

/// Waits until `count()` reaches `at_least`; fails after [`PATIENCE`].
async fn until(what: &str, at_least: usize, count: impl Fn() -> usize) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while count() < at_least {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what}: {} of {at_least} requests", count());
}

/// An outcome as compared across the two runs (dates differ between fakes).
fn kind(outcome: &rescale::Result<JobOutcome>) -> String {
    match outcome {
        Ok(o) if o.is_success() => "succeeded".into(),
        Ok(o) => format!("not successful: {}", o.reason().unwrap_or_default()),
        Err(e) => format!("error: {e}"),
    }
}

/// The outcomes by job index (position in creation order).
fn by_index(ids: &[JobId], outcomes: &BTreeMap<JobId, String>) -> Vec<String> {
    ids.iter().map(|id| outcomes[id].clone()).collect()
}

/// Watches the jobs with one loop; the fleet's list and history requests, and the outcomes
/// by job index.
async fn with_a_fleet() -> (usize, usize, Vec<String>) {
    let (fake, client) = fake().await;
    let ids = create_jobs(&client).await;
    let fleet = client
        .jobs()
        .wait_for_all(&ids)
        .poll_interval(INTERVAL)
        .timeout(PATIENCE)
        .into_future();
    let fleet = tokio::spawn(fleet);
    until("fleet gate", GATE_POLLS, || fake.request_count("GET jobs/")).await;
    submit_all(&client, &ids).await;
    let outcomes: BTreeMap<JobId, String> = fleet
        .await
        .expect("the fleet task ran")
        .expect("every job has an outcome")
        .iter()
        .map(|(id, outcome)| (id.clone(), kind(outcome)))
        .collect();
    let numbered_pages = fake
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == "GET jobs/")
        .filter(|r| r.query.as_deref().is_some_and(|q| q.contains("page=")))
        .count();
    assert_eq!(
        numbered_pages, 0,
        "500 unfinished jobs fit one page of 1000"
    );
    (
        fake.request_count("GET jobs/"),
        fake.request_count("GET jobs/{id}/statuses/"),
        by_index(&ids, &outcomes),
    )
}

/// Watches the jobs with one `wait_for_completion` each; their requests, and the outcomes
/// by job index.
async fn with_a_wait_per_job() -> (usize, Vec<String>) {
    let (fake, client) = fake().await;
    let ids = create_jobs(&client).await;
    let waits: Vec<_> = ids
        .iter()
        .map(|id| {
            let wait = client
                .jobs()
                .wait_for_completion(id)
                .poll_interval(INTERVAL)
                .timeout(PATIENCE);
            let id = id.clone();
            tokio::spawn(async move { (id, wait.await) })
        })
        .collect();
    until("per-job gate", JOBS * GATE_POLLS, || {
        fake.request_count("GET jobs/{id}/statuses/")
    })
    .await;
    submit_all(&client, &ids).await;
    let mut outcomes = BTreeMap::new();
    for wait in waits {
        let (id, outcome) = wait.await.expect("the wait task ran");
        outcomes.insert(id, kind(&outcome));
    }
    assert_eq!(fake.request_count("GET jobs/"), 0);
    (
        fake.request_count("GET jobs/{id}/statuses/"),
        by_index(&ids, &outcomes),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_costs_a_twentieth_of_a_wait_per_job_with_identical_outcomes() {
    // Two fakes, side by side: the fleet is idle most of the time.
    let ((lists, histories, fleet_outcomes), (per_job, wait_outcomes)) =
        tokio::join!(with_a_fleet(), with_a_wait_per_job());

    let fleet = lists + histories;
    eprintln!(
        "fleet: {lists} list + {histories} history = {fleet} requests; \
         per job: {per_job} requests; ratio {:.1}",
        per_job as f64 / fleet as f64
    );
    // The outcomes: the same, job by job, and what the jobs were made to do.
    assert_eq!(fleet_outcomes, wait_outcomes);
    for (i, outcome) in fleet_outcomes.iter().enumerate() {
        let expected = if i % 5 == 0 {
            "not successful: A run failed"
        } else {
            "succeeded"
        };
        assert_eq!(outcome, expected, "job {i}");
    }
    // The fleet's cost: one history read per job, one list page per poll; the budget.
    assert_eq!(histories, JOBS, "one history read per finished job");
    assert!(
        fleet * 20 <= per_job,
        "the fleet used {fleet} requests, more than 1/20 of {per_job}"
    );
}

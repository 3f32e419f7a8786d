//! The section at 20 ms: the crate against `rescale-fake` with every response delayed by
//! [`LATENCY`], each operation reported as time, request count, and the ratio of its time
//! to its round-trip lower bound (the fewest sequential round trips the work needs).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, JobId, ThrottleConfig};
use rescale_fake::{FakeConfig, FakeRescale};

use crate::report::{Stats, WireRow};

/// The delay the fake adds to every response.
pub const LATENCY: Duration = Duration::from_millis(20);

/// The sizes of this section's workloads.
pub struct WireWork {
    pub samples: usize,
    /// Jobs in the listed account.
    pub listed_jobs: usize,
    /// Jobs watched at once.
    pub watched_jobs: usize,
}

/// How the fake of a figure is set up: the one place its knobs are set. `step` is the time
/// between two statuses of a submitted job (a job lives 6 or 7 steps); every other knob
/// (how many outputs a job gets, delays on connection setup, HTTPS) goes into this
/// `FakeConfig` and the client below as the fake offers it.
async fn fake(step: Duration) -> (FakeRescale, Client) {
    let fake = FakeRescale::start_with(FakeConfig {
        step,
        ..FakeConfig::default()
    })
    .await;
    fake.set_latency(LATENCY);
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        // Requests are counted, not paced: 500 waits exceed the hourly read budget.
        .throttle(ThrottleConfig::off())
        .build()
        .expect("a client for the fake");
    (fake, client)
}

/// `n` round trips at [`LATENCY`], in ms.
fn round_trips(n: usize) -> f64 {
    n as f64 * LATENCY.as_secs_f64() * 1e3
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// The requests `fake` received to `endpoint` while `work` ran, and `work`'s output.
async fn counted<T>(
    fake: &FakeRescale,
    endpoint: &str,
    work: impl Future<Output = T>,
) -> (usize, T) {
    let before = fake.request_count(endpoint);
    let out = work.await;
    (fake.request_count(endpoint) - before, out)
}

pub async fn run(work: &WireWork) -> Vec<WireRow> {
    let mut rows = list(work).await;
    rows.extend(watch(work).await);
    rows.push(download(work).await);
    rows
}

/// Lists every job, one page after another and with pages fetched concurrently. The bound
/// is two round trips: the first page tells the count, then every other page at once.
async fn list(work: &WireWork) -> Vec<WireRow> {
    let (fake, client) = fake(Duration::from_millis(20)).await;
    fake.seed_jobs(work.listed_jobs);
    let total = work.listed_jobs;
    let mut rows = Vec::new();
    // `None`: the default settings; then concurrencies to choose the default from.
    for concurrency in [None, Some(1), Some(2), Some(4), Some(8), Some(16)] {
        let mut times = Vec::new();
        let mut requests = 0;
        for _ in 0..work.samples {
            let list = match concurrency {
                None => client.jobs().list(),
                Some(c) => client.jobs().list().concurrency(c),
            };
            let start = Instant::now();
            let (n, items) = counted(&fake, "GET jobs/", async {
                list.stream().try_collect::<Vec<_>>().await.expect("list")
            })
            .await;
            times.push(ms_since(start));
            assert_eq!(items.len(), total);
            requests = n;
        }
        let how = match concurrency {
            None => "default settings".to_owned(),
            Some(c) => format!("1000 a page, {c} pages at once"),
        };
        rows.push(WireRow::new(
            format!("list {total} jobs, {how}"),
            Stats::new("ms", times),
            requests,
            round_trips(2),
            concurrency.is_none().then_some(3.0),
        ));
    }
    // The same work without the latency: what the fake and the client spend besides
    // round trips (the fake rendering the pages, the client decoding them).
    fake.set_latency(Duration::ZERO);
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..work.samples {
        let start = Instant::now();
        let (n, items) = counted(&fake, "GET jobs/", async {
            let list = client.jobs().list();
            list.stream().try_collect::<Vec<_>>().await.expect("list")
        })
        .await;
        times.push(ms_since(start));
        assert_eq!(items.len(), total);
        requests = n;
    }
    rows.push(WireRow::new(
        format!("list {total} jobs, default settings, no latency (work besides round trips)"),
        Stats::new("ms", times),
        requests,
        f64::NAN,
        None,
    ));
    rows
}

/// Creates `n` jobs (every fifth fails when run) and submits them.
async fn submit_jobs(client: &Client, n: usize) -> Vec<JobId> {
    let jobs = client.jobs();
    let ids: Vec<JobId> = stream::iter(0..n)
        .map(|i| {
            let jobs = jobs.clone();
            async move {
                let command = if i % 5 == 0 { "exit 1" } else { "echo hi" };
                let analysis =
                    JobAnalysis::new("user_included", command, Hardware::new("standard-plus", 1))
                        .version("0");
                let job = jobs
                    .create(&NewJob::new(format!("job {i}"), vec![analysis]))
                    .await?;
                jobs.submit(&job.id).await?;
                Ok::<_, rescale::Error>(job.id)
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await
        .expect("create and submit");
    ids
}

/// Watches jobs that live 7 s (7 steps of 1 s) at a 200 ms interval, once with one fleet
/// and once with a `wait_for_completion` per job. The time bound is the jobs' life plus two
/// round trips (a list that misses a job, the history read that confirms it).
async fn watch(work: &WireWork) -> Vec<WireRow> {
    let step = Duration::from_secs(1);
    let interval = Duration::from_millis(200);
    let n = work.watched_jobs;
    let bound = 7.0 * step.as_secs_f64() * 1e3 + round_trips(2);

    let (fake_a, client) = fake(step).await;
    let ids = submit_jobs(&client, n).await;
    let start = Instant::now();
    let reads_before =
        fake_a.request_count("GET jobs/") + fake_a.request_count("GET jobs/{id}/statuses/");
    let outcomes = client
        .jobs()
        .wait_for_all(&ids)
        .poll_interval(interval)
        .into_future()
        .await
        .expect("every job has an outcome");
    let fleet_time = ms_since(start);
    assert_eq!(outcomes.len(), n);
    let fleet = fake_a.request_count("GET jobs/") + fake_a.request_count("GET jobs/{id}/statuses/")
        - reads_before;

    let (fake_b, client) = fake(step).await;
    let ids = submit_jobs(&client, n).await;
    let start = Instant::now();
    let (per_job, outcomes) = counted(&fake_b, "GET jobs/{id}/statuses/", async {
        let waits = ids.iter().map(|id| {
            client
                .jobs()
                .wait_for_completion(id)
                .poll_interval(interval)
                .into_future()
        });
        futures::future::join_all(waits).await
    })
    .await;
    let waits_time = ms_since(start);
    assert!(outcomes.iter().all(Result::is_ok));

    let mut fleet_row = WireRow::new(
        format!("watch {n} jobs (7 s each, 200 ms polls), one fleet"),
        Stats::new("ms", vec![fleet_time]),
        fleet,
        bound,
        None,
    );
    fleet_row.request_budget(per_job as f64 / 20.0, "1/20 of a wait per job");
    let waits_row = WireRow::new(
        format!("watch {n} jobs (7 s each, 200 ms polls), a wait per job"),
        Stats::new("ms", vec![waits_time]),
        per_job,
        bound,
        None,
    );
    vec![fleet_row, waits_row]
}

/// Downloads every output of a completed job at the default concurrency. The bound is the
/// file list plus the downloads, as many at once as the default concurrency allows.
async fn download(work: &WireWork) -> WireRow {
    let (fake, client) = fake(Duration::from_millis(5)).await;
    let ids = submit_jobs(&client, 1).await;
    let id = &ids[0];
    client
        .jobs()
        .wait_for_completion(id)
        .poll_interval(Duration::from_millis(50))
        .await
        .expect("the job completes");
    let files: Vec<_> = client
        .jobs()
        .files(id)
        .stream()
        .try_collect()
        .await
        .expect("files");
    let dir = crate::scratch("wire-outputs");
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..work.samples {
        std::fs::remove_dir_all(&dir).ok();
        let before = fake.requests().len();
        let start = Instant::now();
        let report = client
            .files()
            .download_outputs(id, &dir)
            .await
            .expect("download outputs");
        times.push(ms_since(start));
        assert_eq!(report.downloaded.len(), files.len());
        requests = fake.requests().len() - before;
    }
    std::fs::remove_dir_all(&dir).ok();
    // The default concurrency of `download_outputs`.
    const FILES_AT_ONCE: usize = 4;
    WireRow::new(
        format!(
            "download a job's {} outputs, default concurrency",
            files.len()
        ),
        Stats::new("ms", times),
        requests,
        round_trips(1 + files.len().div_ceil(FILES_AT_ONCE)),
        Some(1.5),
    )
}

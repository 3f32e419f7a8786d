//! The section at 20 ms: the crate against `rescale-fake` over HTTPS, with every response
//! delayed by [`LATENCY`] and every new connection by [`CONNECT_LATENCY`]; each operation
//! reported as time, request and connection counts, and the ratio of its time to its
//! round-trip bound ([`bound`]).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, JobId, ThrottleConfig};
use rescale_fake::{FakeConfig, FakeRescale};

use crate::report::{Stats, WireRow};

/// The delay the fake adds to every response.
pub const LATENCY: Duration = Duration::from_millis(20);
/// The delay the fake adds before it serves a new connection (TCP and TLS set-up of a
/// distant server, counted as one delay).
pub const CONNECT_LATENCY: Duration = Duration::from_millis(20);
/// The outputs of every completed job.
const OUTPUT_FILES: usize = 100;

/// The sizes of this section's workloads.
pub struct WireWork {
    pub samples: usize,
    /// Jobs in the listed account.
    pub listed_jobs: usize,
    /// Jobs watched at once.
    pub watched_jobs: usize,
}

/// A fake of this section and the certificate its clients trust.
struct Wire {
    fake: FakeRescale,
    certificate: reqwest::Certificate,
}

/// How the fake of a figure is set up: the one place its knobs are set. `step` is the time
/// between two statuses of a submitted job (a job lives 6 or 7 steps).
async fn fake(step: Duration) -> Wire {
    let fake = FakeRescale::start_https(FakeConfig {
        step,
        output_files: OUTPUT_FILES,
        latency: LATENCY,
        connect_latency: CONNECT_LATENCY,
        ..FakeConfig::default()
    })
    .await;
    let pem = fake
        .certificate_pem()
        .expect("an HTTPS fake has a certificate");
    let certificate = reqwest::Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    Wire { fake, certificate }
}

impl Wire {
    /// A new client of the fake, with a connection pool of its own (as a new program has),
    /// trusting the fake's certificate.
    fn client(&self) -> Client {
        Client::builder()
            .base_url(self.fake.base_url())
            .token(self.fake.api_key())
            .add_root_certificate(self.certificate.clone())
            // Requests are counted, not paced: 500 waits exceed the hourly read budget.
            .throttle(ThrottleConfig::off())
            .build()
            .expect("a client for the fake")
    }

    /// What `work` cost: its time, and the requests and connections the fake received.
    async fn measure<T>(&self, work: impl Future<Output = T>) -> (Cost, T) {
        let (requests, connections) = (self.fake.requests().len(), self.fake.connection_count());
        let start = Instant::now();
        let out = work.await;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let cost = Cost {
            ms,
            requests: self.fake.requests().len() - requests,
            connections: self.fake.connection_count() - connections,
        };
        (cost, out)
    }

    /// Runs `work` `samples` times, each time with a new client: the times, and the
    /// requests and connections of the last run. `work` gets the client and the run's number.
    async fn sample<F: Future<Output = ()>>(
        &self,
        samples: usize,
        mut work: impl FnMut(Client, usize) -> F,
    ) -> (Stats, Cost) {
        let mut times = Vec::new();
        let mut last = None;
        for i in 0..samples {
            let client = self.client();
            let (cost, ()) = self.measure(work(client, i)).await;
            times.push(cost.ms);
            last = Some(cost);
        }
        (Stats::new("ms", times), last.expect("at least one sample"))
    }
}

/// What one run of a figure cost.
struct Cost {
    ms: f64,
    requests: usize,
    connections: usize,
}

/// The round-trip bound of a piece of work, in ms: `round_trips` sequential round trips at
/// [`LATENCY`] after `wait` (time no client can shorten, such as the jobs' life), and one
/// new connection ([`CONNECT_LATENCY`]), which is made during `wait` when there is one.
/// Counted are the fake's delays only: not the TLS handshake's CPU, the transfer, the
/// encoding and decoding, nor more connections than one.
fn bound(wait: Duration, round_trips: u32) -> f64 {
    (wait.max(CONNECT_LATENCY) + LATENCY * round_trips).as_secs_f64() * 1e3
}

pub async fn run(work: &WireWork) -> Vec<WireRow> {
    let mut rows = list(work).await;
    rows.extend(watch(work).await);
    rows.extend(download(work).await);
    rows
}

/// Lists every job with default settings, then at 1000 a page with several pages at once.
/// The bound: a connection, the first page (it tells the count), then every other page at
/// once.
async fn list(work: &WireWork) -> Vec<WireRow> {
    let wire = fake(Duration::from_millis(20)).await;
    wire.fake.seed_jobs(work.listed_jobs);
    let total = work.listed_jobs;
    let list_all = |client: Client, concurrency: Option<usize>| async move {
        let list = match concurrency {
            None => client.jobs().list(),
            Some(c) => client.jobs().list().concurrency(c),
        };
        let items: Vec<_> = list.stream().try_collect().await.expect("list");
        assert_eq!(items.len(), total);
    };
    let mut rows = Vec::new();
    // `None`: the default settings; then concurrencies to choose the default from.
    for concurrency in [None, Some(1), Some(2), Some(4), Some(8), Some(16)] {
        let (time, cost) = wire
            .sample(work.samples, |client, _| list_all(client, concurrency))
            .await;
        let how = match concurrency {
            None => "default settings".to_owned(),
            Some(c) => format!("1000 a page, {c} pages at once"),
        };
        rows.push(WireRow::new(
            format!("list {total} jobs, {how}"),
            time,
            (cost.requests, cost.connections),
            bound(Duration::ZERO, 2),
            concurrency.is_none().then_some(3.0),
        ));
    }
    // The same work without the delays: what the fake and the client spend besides round
    // trips (the fake rendering the pages, the client decoding them, TLS handshakes).
    wire.fake.set_latency(Duration::ZERO);
    wire.fake.set_connect_latency(Duration::ZERO);
    let (time, cost) = wire
        .sample(work.samples, |client, _| list_all(client, None))
        .await;
    rows.push(WireRow::new(
        format!("list {total} jobs, default settings, no latency (work besides round trips)"),
        time,
        (cost.requests, cost.connections),
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
/// and once with a `wait_for_completion` per job, each on a fake of its own. The bound is
/// the jobs' life plus two round trips (a list that misses a job, the history read that
/// confirms it).
async fn watch(work: &WireWork) -> Vec<WireRow> {
    let step = Duration::from_secs(1);
    let interval = Duration::from_millis(200);
    let n = work.watched_jobs;
    let bound = bound(step * 7, 2);

    let wire = fake(step).await;
    let client = wire.client();
    let ids = submit_jobs(&client, n).await;
    let waiting = client.jobs().wait_for_all(&ids).poll_interval(interval);
    let (fleet, outcomes) = wire.measure(waiting.into_future()).await;
    assert_eq!(outcomes.expect("every job has an outcome").len(), n);
    drop(wire);

    let wire = fake(step).await;
    let client = wire.client();
    let ids = submit_jobs(&client, n).await;
    let waits = ids.iter().map(|id| {
        let waiting = client.jobs().wait_for_completion(id);
        waiting.poll_interval(interval).into_future()
    });
    let (per_job, outcomes) = wire.measure(futures::future::join_all(waits)).await;
    assert!(outcomes.iter().all(Result::is_ok));

    let row = |how: &str, cost: &Cost| {
        WireRow::new(
            format!("watch {n} jobs (7 s each, 200 ms polls), {how}"),
            Stats::new("ms", vec![cost.ms]),
            (cost.requests, cost.connections),
            bound,
            None,
        )
    };
    let mut fleet_row = row("one fleet", &fleet);
    fleet_row.request_budget(per_job.requests as f64 / 20.0, "1/20 of a wait per job");
    vec![fleet_row, row("a wait per job", &per_job)]
}

/// Downloads every output of a completed job, at the default concurrency and at others to
/// choose the default from. The bound: a connection, the file list, then the files, as
/// many at once as the concurrency allows.
async fn download(work: &WireWork) -> Vec<WireRow> {
    let wire = fake(Duration::from_millis(5)).await;
    let client = wire.client();
    let id = submit_jobs(&client, 1).await.remove(0);
    client
        .jobs()
        .wait_for_completion(&id)
        .poll_interval(Duration::from_millis(50))
        .await
        .expect("the job completes");
    let dir = crate::scratch("wire-outputs");
    let mut rows = Vec::new();
    for concurrency in [None, Some(4), Some(8), Some(32)] {
        let (time, cost) = wire
            .sample(work.samples, |client, i| {
                let (id, to) = (id.clone(), dir.join(format!("{concurrency:?}-{i}")));
                async move {
                    let outputs = client.files().download_outputs(&id, &to);
                    let outputs = match concurrency {
                        None => outputs,
                        Some(c) => outputs.concurrency(c),
                    };
                    let report = outputs.await.expect("download outputs");
                    assert_eq!(report.downloaded.len(), OUTPUT_FILES);
                }
            })
            .await;
        let how = match concurrency {
            None => "default concurrency".to_owned(),
            Some(c) => format!("{c} at once"),
        };
        let rounds = OUTPUT_FILES
            .div_ceil(concurrency.unwrap_or(rescale::files::DownloadOutputs::DEFAULT_CONCURRENCY));
        rows.push(WireRow::new(
            format!("download a job's {OUTPUT_FILES} outputs, {how}"),
            time,
            (cost.requests, cost.connections),
            bound(Duration::ZERO, 1 + rounds as u32),
            concurrency.is_none().then_some(1.5),
        ));
    }
    std::fs::remove_dir_all(&dir).ok();
    rows
}

//! `cargo bench --bench compare`: what the crate costs over hand-written `reqwest` calls,
//! measured side by side in one run against a local server on 127.0.0.1.
//!
//! Contenders alternate sample by sample, taking turns at going first (A B, B A, A B, ...),
//! so that a noisy neighbour slows both alike and neither gains from its place; the `get`
//! figure alternates in blocks of [`GET_BLOCK`] calls within each sample (see
//! [`interleave`]). Peak memory is measured in child processes (this binary, re-run with
//! `RESCALE_BENCH_CHILD` set). The table is printed and written to
//! `target/bench-compare.json`.
//!
//! `RESCALE_BENCH_SAMPLES=n` sets the samples per contender (default 7; the `get` figure
//! takes at least 31 outside a quick run);
//! `RESCALE_BENCH_GET_SELF=1` runs the hand-written `get` as both contenders, to show what
//! A vs B reads when there is no difference;
//! `RESCALE_BENCH_QUICK=1` scales every workload down tenfold for a smoke run;
//! `RESCALE_BENCH_ONLY=get,list,prefetch,download,memory,decode,wire` runs only those
//! figures; `wire` is the section at 20 ms against `rescale-fake`.

mod child;
mod report;
mod server;
mod wire;

use std::future::Future;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use rescale::Page;
use rescale::jobs::{Job, JobSummary};

use report::{Report, Row, Stats, Target};

const KEY: &str = "bench-key";
/// Bytes in the downloaded file.
pub const DOWNLOAD_BYTES: u64 = 1 << 30;

/// The sizes of the workloads; `quick` divides them by ten.
struct Workload {
    samples: usize,
    /// Samples of the `get` figure: at least 31 outside a quick run, as its difference is a
    /// few microseconds a call and one slow sample moves a median of 7.
    get_samples: usize,
    gets: usize,
    list_items: usize,
    slow_items: usize,
    slow_delay_ms: u64,
    memory_small: usize,
    memory_large: usize,
    decode_pages: usize,
    wire: wire::WireWork,
}

impl Workload {
    fn from_env() -> Self {
        let quick = std::env::var("RESCALE_BENCH_QUICK").is_ok_and(|v| v == "1");
        let scale = if quick { 10 } else { 1 };
        let samples = std::env::var("RESCALE_BENCH_SAMPLES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if quick { 3 } else { 7 });
        Workload {
            samples,
            get_samples: if quick { samples } else { samples.max(31) },
            gets: 2000 / scale,
            list_items: 100_000 / scale,
            // Scaled down from 100,000: at 2 x 5 ms a page, the run without prefetch
            // would take 10 s a sample.
            slow_items: 10_000 / scale,
            slow_delay_ms: 5,
            memory_small: 10_000,
            memory_large: 1_000_000 / scale,
            decode_pages: 200 / scale,
            wire: wire::WireWork {
                samples: samples.min(5),
                listed_jobs: 10_001,
                watched_jobs: 500 / scale,
            },
        }
    }
}

fn main() {
    if let Ok(role) = std::env::var(child::ROLE_ENV) {
        child::run(&role);
        return;
    }
    let work = Workload::from_env();
    let addr = server::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut report = Report::new(work.samples);
    // RESCALE_BENCH_ONLY=get,list,... runs some of the figures, e.g. under a profiler.
    let only = std::env::var("RESCALE_BENCH_ONLY").unwrap_or_default();
    let run = |figure: &str| only.is_empty() || only.split(',').any(|o| o == figure);
    runtime.block_on(async {
        if run("get") {
            report.push(bench_get(addr, &work).await);
        }
        if run("list") {
            report.push(bench_list(addr, &work, 1).await);
            report.push(bench_list(addr, &work, 0).await);
        }
        if run("prefetch") {
            report.push(bench_prefetch(addr, &work).await);
        }
        if run("download") {
            report.extend(bench_download(addr, &work).await);
        }
        if run("wire") {
            report.wire = wire::run(&work.wire).await;
        }
    });
    if run("memory") {
        let (small, large) = (work.memory_small, work.memory_large);
        report.extend(child::memory_rows(addr, small, large));
    }
    if run("decode") {
        report.extend(bench_decode(&work));
    }
    report.print();
    report.write_json();
}

/// `http://addr/{total}/{delay_ms}/api/v2/`: a base URL whose job list has `total` jobs
/// and takes `delay_ms` a page.
pub fn base_url(addr: SocketAddr, total: usize, delay_ms: u64) -> String {
    format!("http://{addr}/{total}/{delay_ms}/api/v2/")
}

/// The crate's client, its client-side throttle off: the figures measure what the crate
/// costs per call. With the default throttle, sustained job reads are paced at Rescale's
/// 90,000 an hour (25 a second after a burst of 9,000), which a tight loop of 16,000
/// `get`s exceeds by design.
pub fn client(base: &str) -> rescale::Client {
    rescale::Client::builder()
        .token(KEY)
        .base_url(base)
        .throttle(rescale::ThrottleConfig::off())
        .build()
        .expect("client")
}

/// The hand-written baseline: a plain reqwest client with reqwest's defaults.
pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("reqwest client")
}

/// A hand-written GET: status check, whole body, `serde_json`.
async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    let response = http
        .get(url)
        .header("authorization", format!("Token {KEY}"))
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.bytes().await.expect("body");
    serde_json::from_slice(&body).expect("decode")
}

/// Times `a` and `b` alternately, after one warm-up run of each: `samples` times each,
/// with each sample made of `blocks` runs of its contender, interleaved with the other's.
/// The pairs take turns at going first (A B, B A, ...).
///
/// On this kind of machine (a busy/idle VM) a loopback call's time can double when the
/// host changes pace, and a change landing between two whole samples skews their ratio;
/// blocks of a few calls spread every change over both contenders. Measured so, the
/// hand-written `get` against itself reads 0.993 to 1.002 (`RESCALE_BENCH_GET_SELF=1`).
async fn interleave<A, B, FA, FB>(
    samples: usize,
    blocks: usize,
    mut a: A,
    mut b: B,
) -> (Vec<f64>, Vec<f64>)
where
    A: FnMut() -> FA,
    B: FnMut() -> FB,
    FA: Future<Output = ()>,
    FB: Future<Output = ()>,
{
    a().await;
    b().await;
    let (mut ta, mut tb) = (vec![0.0; samples], vec![0.0; samples]);
    for (turn, sample) in (0..samples)
        .flat_map(|s| std::iter::repeat_n(s, blocks))
        .enumerate()
    {
        for a_now in [turn % 2 == 0, turn % 2 == 1] {
            let start = Instant::now();
            if a_now {
                a().await;
                ta[sample] += start.elapsed().as_secs_f64() * 1e3;
            } else {
                b().await;
                tb[sample] += start.elapsed().as_secs_f64() * 1e3;
            }
        }
    }
    (ta, tb)
}

/// [`interleave`] with one run a sample.
async fn alternate<A, B, FA, FB>(samples: usize, a: A, b: B) -> (Vec<f64>, Vec<f64>)
where
    A: FnMut() -> FA,
    B: FnMut() -> FB,
    FA: Future<Output = ()>,
    FB: Future<Output = ()>,
{
    interleave(samples, 1, a, b).await
}

/// Calls of the `get` figure in one block of [`interleave`].
const GET_BLOCK: usize = 20;

async fn bench_get(addr: SocketAddr, work: &Workload) -> Row {
    let base = base_url(addr, 0, 0);
    let client = client(&base);
    let http = reqwest_client();
    let url = format!("{base}jobs/aabbcc/");
    let (client, http, url) = (&client, &http, url.as_str());
    let block = GET_BLOCK.min(work.gets);
    let blocks = work.gets / block;
    let n = blocks * block;
    let calibrate = std::env::var_os("RESCALE_BENCH_GET_SELF").is_some();
    let (a, b) = interleave(
        work.get_samples,
        blocks,
        || async move {
            for _ in 0..block {
                if calibrate {
                    black_box(get_json::<Job>(http, url).await);
                } else {
                    black_box(client.jobs().get("aabbcc").await.expect("get"));
                }
            }
        },
        || async move {
            for _ in 0..block {
                black_box(get_json::<Job>(http, url).await);
            }
        },
    )
    .await;
    let a_name = if calibrate {
        "reqwest + serde_json (calibration)"
    } else {
        "rescale"
    };
    Row::timed(
        format!(
            "get a full job, {n} sequential calls in blocks of {block} ({} samples)",
            work.get_samples
        ),
        (a_name, a),
        ("reqwest + serde_json", b),
        Target::AtMost(1.03),
    )
}

/// Counts the items of a listing through the crate's stream; with a `pause`, the caller
/// spends that long on each page of 100.
async fn list_with_crate(
    client: &rescale::Client,
    prefetch: usize,
    pause: Option<Duration>,
) -> usize {
    // One page after another: these figures measure the cost of a page and of prefetch.
    let mut jobs = client
        .jobs()
        .list()
        .page_size(100)
        .concurrency(1)
        .prefetch(prefetch)
        .stream();
    let mut n = 0;
    while let Some(job) = jobs.try_next().await.expect("list") {
        black_box(&job);
        n += 1;
        if let Some(pause) = pause.filter(|_| n % 100 == 0) {
            tokio::time::sleep(pause).await;
        }
    }
    n
}

async fn bench_list(addr: SocketAddr, work: &Workload, prefetch: usize) -> Row {
    let total = work.list_items;
    let base = base_url(addr, total, 0);
    let client = client(&base);
    let http = reqwest_client();
    let first = format!("{base}jobs/?page_size=100");
    let (client, http, first) = (&client, &http, first.as_str());
    let (a, b) = alternate(
        work.samples,
        || async move { assert_eq!(list_with_crate(client, prefetch, None).await, total) },
        || async move {
            let mut next = Some(first.to_owned());
            let mut n = 0;
            while let Some(url) = next {
                let page: Page<JobSummary> = get_json(http, &url).await;
                n += black_box(page.results).len();
                next = page.next;
            }
            assert_eq!(n, total);
        },
    )
    .await;
    Row::timed(
        format!(
            "list {total} job summaries ({} pages of 100), prefetch {prefetch}",
            total / 100
        ),
        ("rescale stream", a),
        ("hand-written page loop", b),
        Target::AtMost(1.05),
    )
}

async fn bench_prefetch(addr: SocketAddr, work: &Workload) -> Row {
    let total = work.slow_items;
    let delay = Duration::from_millis(work.slow_delay_ms);
    let client = client(&base_url(addr, total, work.slow_delay_ms));
    let client = &client;
    // The consumer spends as long on each page as the server does.
    let consume = |prefetch| async move {
        assert_eq!(list_with_crate(client, prefetch, Some(delay)).await, total);
    };
    let (a, b) = alternate(work.samples, || consume(0), || consume(1)).await;
    Row::timed(
        format!(
            "list {total} summaries, server and consumer {} ms a page (scaled down from 100,000)",
            work.slow_delay_ms
        ),
        ("stream, prefetch 0", a),
        ("stream, prefetch 1", b),
        Target::AtLeast(1.5),
    )
}

/// The crate's download of file `id` of `client` to `to`, returning the bytes written.
/// The file object carries the size only (the bench server sends no checksum), so both
/// contenders do the same work: stream to disk (the crate then renames into place).
pub async fn download_with_crate(
    client: &rescale::Client,
    id: &str,
    to: &std::path::Path,
) -> Option<u64> {
    let file: rescale::files::JobFile = serde_json::from_value(serde_json::json!({
        "id": id,
        "name": "result.bin",
        "decryptedSize": id.parse::<u64>().ok(),
    }))
    .expect("a file object");
    Some(
        client
            .files()
            .download(&file)
            .to_path(to)
            .await
            .expect("download"),
    )
}

/// The hand-written baseline: `bytes_stream` written chunk by chunk to a file.
pub async fn download_with_reqwest(http: &reqwest::Client, url: &str, to: &std::path::Path) -> u64 {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let response = http
        .get(url)
        .header("authorization", format!("Token {KEY}"))
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success(), "{}", response.status());
    let mut file = tokio::fs::File::create(to).await.expect("create");
    let mut body = response.bytes_stream();
    let mut written = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("chunk");
        file.write_all(&chunk).await.expect("write");
        written += chunk.len() as u64;
    }
    file.flush().await.expect("flush");
    written
}

/// A scratch file under `target/`, not a tmpfs that would hold the download in memory.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = report::target_dir().join("bench-compare-scratch");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

async fn bench_download(addr: SocketAddr, work: &Workload) -> Vec<Row> {
    let base = base_url(addr, 0, 0);
    let client = client(&base);
    let http = reqwest_client();
    let id = DOWNLOAD_BYTES.to_string();
    let url = format!("{base}files/{id}/contents/");
    let to = scratch("download.bin");
    let samples = work.samples.min(3);
    let name = "download a 1 GiB file to disk".to_owned();
    let mib = DOWNLOAD_BYTES as f64 / (1024.0 * 1024.0);
    let throughput = |ms: Vec<f64>| ms.into_iter().map(|t| mib / (t / 1e3)).collect::<Vec<_>>();
    let row = if download_with_crate(&client, &id, &to).await.is_none() {
        let mut b = Vec::new();
        for _ in 0..samples {
            let start = Instant::now();
            assert_eq!(
                download_with_reqwest(&http, &url, &to).await,
                DOWNLOAD_BYTES
            );
            b.push(start.elapsed().as_secs_f64() * 1e3);
        }
        Row::pending(
            name,
            "rescale",
            ("reqwest bytes_stream", Stats::new("MiB/s", throughput(b))),
            Target::AtLeast(0.9),
        )
    } else {
        let (client, http, id, url, to) = (&client, &http, id.as_str(), url.as_str(), to.as_path());
        let (a, b) = alternate(
            samples,
            || async move {
                let n = download_with_crate(client, id, to).await;
                assert_eq!(n, Some(DOWNLOAD_BYTES));
            },
            || async move { assert_eq!(download_with_reqwest(http, url, to).await, DOWNLOAD_BYTES) },
        )
        .await;
        Row::rated(
            name,
            ("rescale", Stats::new("MiB/s", throughput(a))),
            ("reqwest bytes_stream", Stats::new("MiB/s", throughput(b))),
            Target::AtLeast(0.9),
        )
    };
    std::fs::remove_file(&to).ok();
    vec![row]
}

fn bench_decode(work: &Workload) -> Vec<Row> {
    let body = server::sample_page();
    let mb = (body.len() * work.decode_pages) as f64 / 1e6;
    let rate = |ms: Vec<f64>| ms.into_iter().map(|t| mb / (t / 1e3)).collect::<Vec<_>>();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..work.decode_pages {
            f();
        }
        start.elapsed().as_secs_f64() * 1e3
    };
    let typed = || {
        black_box(serde_json::from_slice::<Page<JobSummary>>(&body).expect("typed"));
    };
    let value = || {
        black_box(serde_json::from_slice::<serde_json::Value>(&body).expect("value"));
    };
    // serde_path_to_error names the path of a bad value; the crate uses it only after a
    // plain decode failed, because of what this row shows.
    let tracked = || {
        let mut de = serde_json::Deserializer::from_slice(&body);
        let page: Page<JobSummary> = serde_path_to_error::deserialize(&mut de).expect("tracked");
        black_box(page);
    };
    let mut rows = Vec::new();
    for (name, a, b) in [
        (
            "decode job pages",
            ("typed Page<JobSummary>", &typed as &dyn Fn()),
            ("serde_json::Value", &value as &dyn Fn()),
        ),
        (
            "decode job pages, JSON path tracked (the crate tracks it only to explain a failure)",
            ("typed, serde_path_to_error", &tracked as &dyn Fn()),
            ("typed", &typed as &dyn Fn()),
        ),
    ] {
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        (a.1)();
        (b.1)();
        for _ in 0..work.samples {
            ta.push(time(a.1));
            tb.push(time(b.1));
        }
        rows.push(Row::rated(
            format!("{name} ({:.0} MB)", mb),
            (a.0, Stats::new("MB/s", rate(ta))),
            (b.0, Stats::new("MB/s", rate(tb))),
            Target::None,
        ));
    }
    rows
}

//! `rescale batch FILE.csv`: submit every row of a CSV file as a job, exactly once, with a
//! progress bar. Interrupt it (Ctrl-C) or kill it at any moment and run it again: it
//! resumes from its ledger (beside the CSV: `sweep.ledger` for `sweep.csv`) with no job twice and none lost.
//!
//! ```text
//! cargo run -p rescale-batch --example batch -- rescale-batch/examples/sweep.csv
//! ```
//!
//! Columns: `key,name,command,core_type,cores` and optionally `input` (a file to upload).
//! With `RESCALE_API_KEY` set it talks to Rescale (or to `RESCALE_API_URL`); without, to a
//! local fake platform that lives as long as the run, so its ledger is a temporary one.
//! `--store sqlite:PATH` or `--store redis:URL` shares the submission budget with every
//! other process that uses the same store.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, ThrottleStore};
use rescale_batch::{Batch, BatchItem, Event, SqliteStore};
use rescale_fake::FakeRescale;

#[derive(Parser)]
#[command(
    name = "rescale batch",
    about = "Submit every row of a CSV file as a job, exactly once"
)]
struct Args {
    /// The CSV file: key,name,command,core_type,cores[,input]
    file: PathBuf,
    /// The ledger (default: FILE with the extension `.ledger`).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Jobs worked on at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// A shared throttle store: `sqlite:PATH`, or `redis:URL` (with the `redis` feature).
    #[arg(long)]
    store: Option<String>,
}

#[derive(serde::Deserialize)]
struct Row {
    key: String,
    name: String,
    command: String,
    core_type: String,
    cores: u32,
    #[serde(default)]
    input: Option<PathBuf>,
}

fn items(file: &PathBuf) -> Result<Vec<BatchItem>, Box<dyn std::error::Error>> {
    let mut items = Vec::new();
    for row in csv::Reader::from_path(file)?.deserialize() {
        let row: Row = row?;
        let analysis = JobAnalysis::new(
            "user_included",
            row.command,
            Hardware::new(row.core_type, row.cores),
        )
        .version("0");
        let mut item = BatchItem::new(row.key, NewJob::new(row.name, vec![analysis]));
        if let Some(input) = row.input.filter(|p| !p.as_os_str().is_empty()) {
            item = item.input(input);
        }
        items.push(item);
    }
    Ok(items)
}

async fn store(spec: &str) -> Result<Arc<dyn ThrottleStore>, Box<dyn std::error::Error>> {
    match spec.split_once(':') {
        Some(("sqlite", path)) => Ok(Arc::new(SqliteStore::open(path)?)),
        #[cfg(feature = "redis")]
        Some(("redis", _)) => Ok(Arc::new(
            rescale_batch::RedisStore::connect(&spec["redis:".len()..]).await?,
        )),
        _ => Err(
            format!("--store {spec}: expected sqlite:PATH or redis:URL (feature `redis`)").into(),
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let items = items(&args.file)?;
    let mut builder = match std::env::var(rescale::ENV_API_KEY) {
        Ok(key) if !key.is_empty() => rescale::ClientBuilder::from_env()?,
        _ => Client::builder(),
    };
    let mut _fake = None;
    let mut _scratch = None;
    let mut ledger = args
        .ledger
        .unwrap_or_else(|| args.file.with_extension("ledger"));
    if std::env::var(rescale::ENV_API_KEY).map_or(true, |k| k.is_empty()) {
        // A URL with no key means a platform was meant, not a fake of the example's own.
        for name in [rescale::ENV_API_URL, rescale::ENV_BASE_URL] {
            if let Some(url) = std::env::var_os(name).filter(|u| !u.is_empty()) {
                return Err(format!(
                    "{name} is set ({}) but {} is not: set the key too (a `rescale-fake` \
                     server prints it), or unset {name} to run on a local fake",
                    url.to_string_lossy(),
                    rescale::ENV_API_KEY
                )
                .into());
            }
        }
        let fake = FakeRescale::start().await;
        let dir = tempfile::tempdir()?;
        ledger = dir.path().join("batch.ledger");
        eprintln!(
            "RESCALE_API_KEY is not set: submitting to a local fake platform at {}; it and its \
             ledger last this run only (nothing to resume: run a `rescale-fake --state` server \
             and set RESCALE_API_URL and RESCALE_API_KEY to try resuming)",
            fake.base_url()
        );
        builder = builder.base_url(fake.base_url()).token(fake.api_key());
        _fake = Some(fake);
        _scratch = Some(dir);
    }
    if let Some(spec) = &args.store {
        builder = builder.throttle_store(store(spec).await?);
    }
    let client = builder.build()?;

    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} submitted {elapsed} {wide_msg}",
    )?);
    let progress = bar.clone();
    let batch = Batch::new(client, &ledger)
        .concurrency(args.concurrency)
        .on_event(move |event| match event {
            Event::Loaded { total, submitted } => {
                progress.set_length(*total as u64);
                progress.set_position(*submitted as u64);
            }
            Event::Submitted { key, job_id } => {
                progress.inc(1);
                progress.set_message(format!("{key}: {job_id}"));
            }
            Event::Failed { key, error, .. } => progress.println(format!("{key}: {error}")),
            Event::Waiting { keys, step, wait } if !wait.is_zero() => progress.println(format!(
                "{} item(s) with a {step:?} of unknown outcome: looking them up on the service in {} s",
                keys.len(),
                wait.as_secs()
            )),
            Event::Reconciled {
                key,
                step,
                happened,
            } => progress.println(format!(
                "{key}: {step:?} looked up on the service: happened = {happened}"
            )),
            _ => {}
        });
    tokio::select! {
        summary = batch.run(items) => {
            let summary = summary?;
            bar.finish();
            let kept = if _scratch.is_some() { " (removed on exit)" } else { "" };
            eprintln!(
                "{} of {} submitted ({} in this run), {} failed; ledger {}{kept}",
                summary.submitted, summary.total, summary.submitted_now, summary.failed.len(), ledger.display()
            );
            if !summary.is_complete() {
                std::process::exit(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {
            bar.abandon_with_message("interrupted");
            if _scratch.is_some() {
                eprintln!("interrupted: the local fake and its ledger end with this run");
            } else {
                eprintln!("interrupted: run the same command again to resume from {}", ledger.display());
            }
            std::process::exit(130);
        }
    }
    Ok(())
}

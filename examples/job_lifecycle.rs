//! The whole life of a job: upload an input, pick hardware from the catalogue, create and
//! submit the job, print each status as it changes, download the outputs with a progress
//! bar, and delete the job once its cluster has stopped.
//!
//! ```text
//! cargo run --example job_lifecycle                       # on a local fake platform; outputs in a temporary directory
//! RESCALE_API_KEY=... cargo run --example job_lifecycle -- --output-dir outputs
//! ```

mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use futures::TryStreamExt;
use rescale::JobOutcome;
use rescale::catalog::CoreType;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};

#[derive(Parser)]
struct Args {
    /// Where the job's outputs go (default: a fresh temporary directory, printed at the end;
    /// removed when the example ends if the job ran on the fake).
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Seconds between status polls (15 on the real platform, faster on the fake one).
    #[arg(long)]
    poll_seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let connection = common::connect().await?;
    let poll = args
        .poll_seconds
        .map_or(connection.poll_interval, Duration::from_secs);
    let client = connection.client.clone();
    let jobs = client.jobs();

    // 1. Upload an input file.
    let scratch = tempfile::tempdir()?;
    let input = scratch.path().join("input.txt");
    std::fs::write(&input, "hello from rescale-rs\n")?;
    let uploaded = client.files().upload(&input).await?;
    println!(
        "uploaded {} as {}",
        common::printable(&uploaded.name),
        common::printable(&uploaded.id)
    );

    // 2. Hardware from the catalogue: the first current core type that offers 1 core.
    let core_types: Vec<CoreType> = client.catalog().core_types().stream().try_collect().await?;
    let core_type = core_types
        .iter()
        .find(|c| !c.is_deprecated && c.cores.contains(&1))
        .ok_or("no core type offers a single core")?;
    let mut hardware = Hardware::new(&core_type.code, 1);
    if core_type.walltime_required {
        hardware = hardware.walltime_hours(1);
    }
    let new = NewJob::new(
        "rescale-rs lifecycle example",
        vec![
            JobAnalysis::new("user_included", "cat input.txt > output.txt", hardware)
                .version("0")
                .input_file(&uploaded),
        ],
    );
    core_type.check(&new)?;

    // 3. Create and submit.
    let job = jobs.create(&new).await?;
    jobs.submit(&job.id).await?;
    println!(
        "submitted job {} on {}",
        common::printable(job.id.as_str()),
        common::printable(&core_type.code)
    );

    // 4. Each status as it changes, then the outcome.
    let mut statuses = jobs.watch(&job.id).poll_interval(poll);
    while let Some(entry) = statuses.try_next().await? {
        let reason = entry.status_reason.as_deref().unwrap_or("");
        println!(
            "  {:<20} {}",
            common::printable(entry.status.as_str()),
            common::printable(reason)
        );
    }
    match jobs
        .wait_for_completion(&job.id)
        .poll_interval(poll)
        .await?
    {
        JobOutcome::Succeeded { .. } => println!("job succeeded"),
        JobOutcome::Failed { reason, .. } => println!("job failed: {}", common::printable(&reason)),
        JobOutcome::Stopped { reason, .. } => {
            println!("job stopped: {}", common::printable(&reason))
        }
        other => println!("job ended: {other:?}"),
    }

    // 5. Outputs, with one progress bar across every file.
    let output_dir = common::output_dir(args.output_dir, "job-lifecycle", &connection)?;
    let (bar, progress) = common::transfer_bar();
    let report = client
        .files()
        .download_outputs(&job.id, output_dir.path())
        .on_progress(progress)
        .await?;
    bar.finish_and_clear();
    println!(
        "{} files downloaded ({} bytes), {} already present, in {}",
        report.downloaded.len(),
        report.bytes,
        report.skipped.len(),
        output_dir.describe()
    );

    // 6. Delete once the cluster has stopped.
    jobs.wait_for_cluster_stop(&job.id)
        .poll_interval(poll)
        .timeout(Duration::from_secs(3600))
        .await?;
    jobs.delete_with_input_files(&job.id).await?;
    println!(
        "deleted job {} and its input file",
        common::printable(job.id.as_str())
    );
    Ok(())
}

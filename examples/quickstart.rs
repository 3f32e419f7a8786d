//! A whole job, start to finish: create, submit, wait for the outcome, list and download
//! the outputs.
//!
//! ```text
//! cargo run --example quickstart                    # on a local fake platform, no account
//! RESCALE_API_KEY=... cargo run --example quickstart    # on the real platform (billed!)
//! ```

mod common;

use futures::TryStreamExt;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};

/// A whole job, start to finish: create, submit, wait, list and download the outputs. On a local fake platform unless RESCALE_API_KEY is set (then on the real one, billed).
#[derive(clap::Parser)]
struct Args {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No options: `--help` says what running it does, and does nothing else.
    <Args as clap::Parser>::parse();
    let connection = common::connect().await?;
    let jobs = connection.client.jobs();

    // 1. Create: one analysis running a shell command on one core.
    let new = NewJob::new(
        "rescale-rs quickstart",
        vec![
            JobAnalysis::new(
                "user_included",
                "echo 'hello from rescale-rs' > hello.txt",
                Hardware::new("standard-plus", 1),
            )
            .version("0"),
        ],
    );
    let job = jobs.create(&new).await?;
    println!("created job {} ({})", job.id, job.name);

    // 2. Submit: the job starts (and on the real platform, is billed).
    jobs.submit(&job.id).await?;
    println!("submitted");

    // 3. Wait for the outcome. A failed job still ends `Completed`: the outcome says which.
    let outcome = jobs
        .wait_for_completion(&job.id)
        .poll_interval(connection.poll_interval)
        .await?;
    let said = outcome.status().status_reason.as_deref().unwrap_or("");
    match outcome.reason() {
        None => println!("succeeded: {said}"),
        Some(why) => println!("did not succeed: {why}"),
    }

    // 4. List the outputs, across every page.
    let outputs: Vec<_> = jobs.files(&job.id).stream().try_collect().await?;
    for file in &outputs {
        println!(
            "  {:<28} {:>10} bytes",
            file.relative_path.as_deref().unwrap_or(&file.name),
            file.decrypted_size.unwrap_or(0)
        );
    }

    // 5. Download them all, checked against their checksums.
    let dir = common::output_dir(None, "quickstart", &connection)?;
    let report = connection
        .client
        .files()
        .download_outputs(&job.id, dir.path())
        .await?;
    println!(
        "downloaded {} files ({} bytes) to {}; {} were already there and checked",
        report.downloaded.len(),
        report.bytes,
        dir.describe(),
        report.skipped.len()
    );
    Ok(())
}

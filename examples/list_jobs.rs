//! Prints a table of your jobs: id, name, status, cluster status and creation date.
//!
//! ```text
//! RESCALE_API_KEY=... cargo run --example list_jobs -- --limit 20
//! ```
//!
//! Reads `RESCALE_API_KEY`, and `RESCALE_API_URL` for a region other than the US one
//! (e.g. `https://eu.rescale.com/api/v2/`). Without a key it lists the jobs of a local
//! fake platform.

mod common;

use std::process::ExitCode;

use clap::Parser;
use futures::TryStreamExt;
use rescale::Client;
use rescale::jobs::JobState;

/// Prints a table of your Rescale jobs, newest first.
#[derive(Parser)]
struct Args {
    /// Stop after this many jobs.
    #[arg(long)]
    limit: Option<usize>,
    /// Only finished jobs (`completed`) or only unfinished ones (`not-completed`).
    #[arg(long, value_parser = ["completed", "not-completed"])]
    state: Option<String>,
    /// Jobs fetched per request.
    #[arg(long, default_value_t = 100)]
    page_size: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let connection = match common::connect().await {
        Ok(connection) => connection,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "hint: export RESCALE_API_KEY=<your key> (and RESCALE_API_URL for another region)"
            );
            return ExitCode::FAILURE;
        }
    };
    match print_jobs(&connection.client, &args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn print_jobs(client: &Client, args: &Args) -> rescale::Result<()> {
    let mut list = client.jobs().list().page_size(args.page_size);
    list = match args.state.as_deref() {
        Some("completed") => list.state(JobState::Completed),
        Some(_) => list.state(JobState::NotCompleted),
        None => list,
    };
    let mut jobs = list.stream();

    print_row(["ID", "NAME", "STATUS", "CLUSTER", "CREATED"]);
    let mut shown = 0;
    while args.limit.is_none_or(|limit| shown < limit) {
        let Some(job) = jobs.try_next().await? else {
            break;
        };
        let created = job
            .date_inserted
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        print_row([
            job.id.as_str(),
            &job.name,
            &job.job_status.content,
            &job.cluster_status_display.content,
            &created,
        ]);
        shown += 1;
    }
    println!("({shown} jobs)");
    Ok(())
}

/// One line of the table: id, name, status, cluster status, created.
fn print_row([id, name, status, cluster, created]: [&str; 5]) {
    println!(
        "{:<10} {:<32} {:<20} {:<16} {}",
        cell(id, 10),
        cell(name, 32),
        cell(status, 20),
        cell(cluster, 16),
        cell(created, 16)
    );
}

/// Text from the server, cut to `width` characters, with control characters (which could
/// drive the terminal) replaced.
fn cell(text: &str, width: usize) -> String {
    let clean = common::printable(text);
    if clean.chars().count() <= width {
        clean
    } else {
        let mut cut: String = clean.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

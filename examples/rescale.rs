//! `rescale`: a small command-line tool over the crate.
//!
//! ```text
//! cargo run --example rescale -- list --limit 10
//! cargo run --example rescale -- run examples/hello_job.json --download outputs
//! cargo run --example rescale -- get <job id>
//! cargo run --example rescale -- create job.json      # prints the new job's id
//! cargo run --example rescale -- submit <job id>
//! cargo run --example rescale -- wait <job id> [<job id> ...]   # one line per job
//! cargo run --example rescale -- download <job id> outputs
//! cargo run --example rescale -- delete <job id> --wait-for-cluster
//! cargo run --example rescale -- ls-run <job id> [run]
//! cargo run --example rescale -- tail <job id> [run] <path> [-f] [-n lines]
//! cargo run --example rescale -- snapshot <job id> <run>
//! cargo run --example rescale -- stop-run <job id> <run>
//! cargo run --example rescale -- check examples/too_long_job.json
//! cargo run --example rescale -- account | files [--search text] | cat <file id>
//! ```
//!
//! With `RESCALE_API_KEY` set it talks to the real platform; without it, to a local fake
//! platform started for this one command (so only `list` and `run` have something to show,
//! and a running solver whose job id the word `solver` stands for:
//! `cargo run --example rescale -- tail solver airFoil2D/log.simpleFoam -f`).

mod common;
#[path = "rescale/pipeline.rs"]
mod pipeline;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use futures::TryStreamExt;
use rescale::jobs::{JobState, NewJob};
use rescale::{Client, JobOutcome};

#[derive(Parser)]
#[command(
    name = "rescale",
    about = "Create, run, watch and harvest Rescale jobs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How often a command that waits asks the service; only those commands take it.
#[derive(clap::Args, Clone, Copy)]
pub struct Poll {
    /// Seconds between polls (15 on the real platform and 1 on the local fake, unless set).
    #[arg(long = "poll-seconds", value_name = "SECONDS")]
    seconds: Option<u64>,
}

impl Poll {
    /// The interval given, or else `default` (the platform's).
    pub fn or(self, default: Duration) -> Duration {
        self.seconds.map_or(default, Duration::from_secs)
    }
}

#[derive(Subcommand)]
enum Command {
    /// List jobs, newest first.
    List {
        /// Stop after this many jobs.
        #[arg(long, default_value_t = 25)]
        limit: usize,
        /// Only finished jobs.
        #[arg(long, conflicts_with = "running")]
        completed: bool,
        /// Only unfinished jobs.
        #[arg(long)]
        running: bool,
    },
    /// Print a job as JSON.
    Get {
        /// The job's id, as `list` and `create` print it.
        id: String,
    },
    /// Create a job from a JSON job definition; prints its id.
    Create {
        /// A JSON job definition, such as examples/hello_job.json.
        file: PathBuf,
    },
    /// Submit a saved job.
    Submit {
        /// The job's id.
        id: String,
    },
    /// Print each status of a job as it changes, then its outcome; with several ids, one
    /// line per job (updated in place on a terminal, a line per change otherwise), with one
    /// list request per poll for all of them. Exits non-zero unless every job succeeded.
    Wait {
        /// The ids of the jobs to wait for.
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        poll: Poll,
    },
    /// Download every output of a job into a directory.
    Download {
        /// The job's id.
        id: String,
        /// Where the outputs go (created if missing; files already there and intact are
        /// kept).
        dir: PathBuf,
        /// Files at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Delete a job.
    Delete {
        /// The job's id.
        id: String,
        /// Also delete its input files.
        #[arg(long)]
        with_input_files: bool,
        /// Wait for the job's cluster to stop first (delete is refused while it runs).
        #[arg(long)]
        wait_for_cluster: bool,
        #[command(flatten)]
        poll: Poll,
    },
    /// Create a job from a JSON file, submit it, wait for it, and download its outputs.
    Run {
        /// A JSON job definition, such as examples/hello_job.json.
        file: PathBuf,
        /// Where the outputs go; not downloaded unless set.
        #[arg(long)]
        download: Option<PathBuf>,
        #[command(flatten)]
        poll: Poll,
    },
    #[command(flatten)]
    Pipeline(pipeline::PipelineCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let connection = common::connect().await?;
    let default_poll = connection.poll_interval;
    let client = &connection.client;
    let jobs = client.jobs();
    match cli.command {
        Command::Pipeline(command) => {
            let solver = match &connection.fake {
                Some(fake) => Some(pipeline::start_fake_solver(fake, client).await?),
                None => None,
            };
            return pipeline::run(client, command, default_poll, solver.as_deref()).await;
        }
        Command::List {
            limit,
            completed,
            running,
        } => {
            let mut list = jobs.list().page_size(100);
            if completed {
                list = list.state(JobState::Completed);
            } else if running {
                list = list.state(JobState::NotCompleted);
            }
            let mut stream = list.stream();
            let mut shown = 0;
            while shown < limit {
                let Some(job) = stream.try_next().await? else {
                    break;
                };
                let status = job.status().map(|s| s.to_string()).unwrap_or_default();
                println!(
                    "{:<10} {:<20} {}",
                    job.id,
                    status,
                    common::printable(&job.name)
                );
                shown += 1;
            }
        }
        Command::Get { id } => {
            let job = jobs.get(&id).await?;
            println!("{}", serde_json::to_string_pretty(&job)?);
        }
        Command::Create { file } => {
            let job = jobs.create(&read_job(&file)?).await?;
            println!("{}", job.id);
        }
        Command::Submit { id } => {
            jobs.submit(&id).await?;
            println!("submitted {id}");
        }
        Command::Wait { ids, poll } if ids.len() == 1 => {
            return follow(client, &ids[0], poll.or(default_poll)).await;
        }
        Command::Wait { ids, poll } => {
            return follow_many(client, &ids, poll.or(default_poll)).await;
        }
        Command::Download {
            id,
            dir,
            concurrency,
        } => download(client, &id, &dir, concurrency).await?,
        Command::Delete {
            id,
            with_input_files,
            wait_for_cluster,
            poll,
        } => {
            if wait_for_cluster {
                jobs.wait_for_cluster_stop(&id)
                    .poll_interval(poll.or(default_poll))
                    .await?;
            }
            let deleted = if with_input_files {
                jobs.delete_with_input_files(&id).await
            } else {
                jobs.delete(&id).await
            };
            match deleted {
                // Refused while the cluster runs: name the flag that waits for it.
                Err(e)
                    if !wait_for_cluster
                        && e.status() == Some(reqwest::StatusCode::BAD_REQUEST)
                        && e.api_error().is_some_and(|a| a.message.contains("cluster")) =>
                {
                    return Err(format!(
                        "{e}\n(--wait-for-cluster waits for the job's cluster to stop first)"
                    )
                    .into());
                }
                other => other?,
            }
            println!("deleted {id}");
        }
        Command::Run {
            file,
            download: dir,
            poll,
        } => {
            let job = jobs.create(&read_job(&file)?).await?;
            jobs.submit(&job.id).await?;
            println!(
                "created and submitted {} ({})",
                job.id,
                common::printable(&job.name)
            );
            let code = follow(client, job.id.as_str(), poll.or(default_poll)).await?;
            if let Some(dir) = dir {
                download(client, job.id.as_str(), &dir, 4).await?;
            }
            return Ok(code);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A job definition from a JSON file, checked before anything is sent.
fn read_job(path: &Path) -> Result<NewJob, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let job: NewJob = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a job definition: {e}", path.display()))?;
    job.validate()?;
    Ok(job)
}

/// Prints each status as it changes, then the outcome; fails unless the job succeeded.
async fn follow(
    client: &Client,
    id: &str,
    poll: Duration,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let jobs = client.jobs();
    let mut statuses = jobs.watch(id).poll_interval(poll);
    while let Some(entry) = statuses.try_next().await? {
        let reason = entry.status_reason.as_deref().unwrap_or("");
        println!(
            "  {:<20} {}",
            entry.status.as_str(),
            common::printable(reason)
        );
    }
    let outcome = jobs.wait_for_completion(id).poll_interval(poll).await?;
    Ok(match outcome {
        JobOutcome::Succeeded { .. } => {
            println!("succeeded");
            ExitCode::SUCCESS
        }
        other => {
            println!(
                "did not succeed: {}",
                common::printable(other.reason().unwrap_or("no reason given"))
            );
            ExitCode::FAILURE
        }
    })
}

/// One line per job, updated in place as statuses change (on a terminal; elsewhere a line
/// per change), then each job's outcome; fails unless every job succeeded.
async fn follow_many(
    client: &Client,
    ids: &[String],
    poll: Duration,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
    use rescale::FleetEvent;

    // One line per job, updated in place on a terminal; elsewhere (a pipe, a file, CI)
    // nothing can be updated in place, so each change is printed as a line of its own.
    let lines = MultiProgress::new();
    let in_place = !lines.is_hidden();
    let style = ProgressStyle::with_template("{prefix:<10} {wide_msg}")?;
    let bars: std::collections::HashMap<&str, ProgressBar> = ids
        .iter()
        .map(|id| {
            let bar = lines.add(ProgressBar::new_spinner().with_style(style.clone()));
            bar.set_prefix(common::printable(id));
            bar.set_message("waiting for the first poll");
            (id.as_str(), bar)
        })
        .collect();
    let mut all_succeeded = true;
    let mut fleet = client.jobs().watch_many(ids).poll_interval(poll);
    while let Some(event) = fleet.try_next().await? {
        let (id, text, finished) = match event {
            FleetEvent::Status { id, status } => (id, status.as_str().to_owned(), false),
            FleetEvent::NotSubmitted { id } => {
                (id, "never submitted: waiting until it is".to_owned(), false)
            }
            FleetEvent::Finished { id, outcome } => {
                all_succeeded &= outcome.as_ref().is_ok_and(JobOutcome::is_success);
                let text = match &outcome {
                    Ok(JobOutcome::Succeeded { .. }) => "succeeded".to_owned(),
                    Ok(other) => format!("did not succeed: {}", other.reason().unwrap_or("")),
                    Err(e) => format!("cannot tell: {e}"),
                };
                (id, text, true)
            }
            _ => continue,
        };
        let bar = bars.get(id.as_str());
        let (id, text) = (common::printable(id.as_str()), common::printable(&text));
        match bar {
            Some(bar) if in_place && finished => {
                bar.finish_with_message(text.clone());
                // The line is cut at the terminal's width: a reason is printed whole too.
                if text != "succeeded" {
                    lines.println(format!("{id}: {text}"))?;
                }
            }
            Some(bar) if in_place => bar.set_message(text),
            _ => println!("{id:<10} {text}"),
        }
    }
    Ok(if all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn download(
    client: &Client,
    id: &str,
    dir: &Path,
    concurrency: usize,
) -> rescale::Result<()> {
    let (bar, progress) = common::transfer_bar();
    let report = client
        .files()
        .download_outputs(id, dir)
        .concurrency(concurrency)
        .on_progress(progress)
        .await;
    bar.finish_and_clear();
    let report = report?;
    println!(
        "{} files downloaded ({} bytes), {} already present, in {}",
        report.downloaded.len(),
        report.bytes,
        report.skipped.len(),
        dir.display()
    );
    Ok(())
}

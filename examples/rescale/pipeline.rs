//! The CLI's commands for a running job, its runs, the pre-flight check and the file
//! library.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use futures::TryStreamExt;
use rescale::{Client, FollowEvent};

use super::common::printable;
use super::{Poll, read_job};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Subcommand)]
pub enum PipelineCommand {
    /// List the files of an in-progress run (run 1 unless given).
    LsRun { job: String, run: Option<String> },
    /// Print the last lines of a live file of a run: `tail JOB [RUN] PATH`.
    Tail {
        /// JOB [RUN] PATH (run 1 unless given).
        #[arg(num_args = 2..=3, required = true)]
        args: Vec<String>,
        /// Keep printing new lines as the solver writes them, until the run completes.
        #[arg(short = 'f', long)]
        follow: bool,
        /// How many lines.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: u32,
        #[command(flatten)]
        poll: Poll,
    },
    /// Snapshot an in-progress run: its working directory is uploaded as an output.
    Snapshot { job: String, run: String },
    /// Stop an in-progress run.
    StopRun { job: String, run: String },
    /// Check a JSON job definition against the catalogues and the account, creating nothing.
    Check { file: std::path::PathBuf },
    /// Show the account: the user, its walltime cap and its projects.
    Account,
    /// List the files of the library.
    Files {
        /// Only files whose name contains this.
        #[arg(long)]
        search: Option<String>,
        /// Stop after this many files.
        #[arg(long, default_value_t = 25)]
        limit: usize,
    },
    /// Print a text file of the library.
    Cat { id: String },
    /// Rename a file of the library.
    RenameFile { id: String, name: String },
    /// Delete a file of the library (whether a job using it keeps working is undocumented).
    RmFile { id: String },
}

/// Runs one of these commands; `solver` is the id `solver` stands for on the fake platform,
/// and `default_poll` the platform's interval between polls.
pub async fn run(
    client: &Client,
    command: PipelineCommand,
    default_poll: Duration,
    solver: Option<&str>,
) -> Result<ExitCode> {
    let jobs = client.jobs();
    let job_id = |id: String| match (id.as_str(), solver) {
        ("solver", Some(real)) => real.to_owned(),
        _ => id,
    };
    match command {
        PipelineCommand::LsRun { job, run } => {
            let run = run.unwrap_or_else(|| "1".to_owned());
            for entry in jobs.run_directory(job_id(job), &run).await? {
                println!("{}", printable(&entry.path));
            }
        }
        PipelineCommand::Tail {
            mut args,
            follow,
            lines,
            poll,
        } => {
            let path = args.pop().unwrap_or_default();
            let run = if args.len() == 2 {
                args.pop().unwrap_or_default()
            } else {
                "1".to_owned()
            };
            let job = job_id(args.pop().unwrap_or_default());
            if follow {
                let mut events = jobs
                    .follow(&job, &run, &path)
                    .poll_interval(poll.or(default_poll))
                    .window(lines.max(200));
                while let Some(event) = events.try_next().await? {
                    match event {
                        FollowEvent::Line(line) => println!("{}", printable(&line)),
                        FollowEvent::Gap => {
                            eprintln!("[... lines written between two polls were missed ...]")
                        }
                        FollowEvent::Rewritten => eprintln!("[the file was rewritten]"),
                        _ => {}
                    }
                }
                eprintln!("[run {run} of job {job} completed]");
            } else {
                let tail = jobs.tail(&job, &run, &path).lines(lines).await?;
                for line in &tail.lines {
                    println!("{}", printable(line));
                }
            }
        }
        PipelineCommand::Snapshot { job, run } => {
            let snapshot = jobs.snapshot_run(job_id(job), &run).await?;
            println!(
                "exit code {}: {}; previous snapshot: {}",
                snapshot
                    .exit_code
                    .map_or_else(|| "unknown".to_owned(), |c| c.to_string()),
                printable(snapshot.reason.as_deref().unwrap_or("")),
                printable(snapshot.last_snapshot_id.as_deref().unwrap_or("none"))
            );
            if !snapshot.is_success() {
                return Ok(ExitCode::FAILURE);
            }
        }
        PipelineCommand::StopRun { job, run } => {
            let job = job_id(job);
            jobs.stop_run(&job, &run).await?;
            println!("stopped run {run} of job {job}");
        }
        PipelineCommand::Check { file } => {
            let job = read_job(&file)?;
            let problems = client.catalog().preflight(&job).await?;
            if problems.is_empty() {
                println!("{}: ready to create", file.display());
            } else {
                for problem in &problems {
                    println!("{}", printable(&problem.to_string()));
                }
                println!("{}: refused, nothing was created", file.display());
                return Ok(ExitCode::FAILURE);
            }
        }
        PipelineCommand::Account => {
            let account = client.account();
            let me = account.me().await?;
            println!(
                "{} (at most {} hours per job)",
                printable(me.email.as_deref().unwrap_or("?")),
                me.max_job_hours.map_or("?".to_owned(), |h| h.to_string())
            );
            let mut projects = account.projects().page_size(100).stream();
            while let Some(p) = projects.try_next().await? {
                let id = p.id.as_deref().unwrap_or("?");
                let name = p.name.as_deref().unwrap_or("");
                println!("  project {:<10} {}", printable(id), printable(name));
            }
        }
        PipelineCommand::Files { search, limit } => {
            let mut list = client.files().list().page_size(100);
            if let Some(text) = search {
                list = list.search(text);
            }
            let mut files = list.stream();
            let mut shown = 0;
            while shown < limit {
                let Some(f) = files.try_next().await? else {
                    break;
                };
                let size = f.decrypted_size.unwrap_or(0);
                println!("{:<10} {:>12} {}", f.id, size, printable(&f.name));
                shown += 1;
            }
        }
        PipelineCommand::Cat { id } => {
            for line in client.files().lines(&id).await? {
                print!("{}", printable(line.trim_end_matches('\n')));
                println!();
            }
        }
        PipelineCommand::RenameFile { id, name } => {
            let file = client.files().rename(&id, &name).await?;
            println!("{} is now {}", file.id, printable(&file.name));
        }
        PipelineCommand::RmFile { id } => {
            client.files().delete(&id).await?;
            println!("deleted {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// On the fake platform: starts a solver writing its log, waits until its run is in
/// progress with a first line written, and returns its job id (what `solver` stands for on the command line).
pub async fn start_fake_solver(
    fake: &rescale_fake::FakeRescale,
    client: &Client,
) -> Result<String> {
    let id = fake.start_solver(rescale_fake::SolverConfig {
        lines: 40,
        line_every: Duration::from_millis(100),
        keep_running: false,
    });
    for _ in 0..200 {
        // Running, with a first line written.
        let tail = client
            .jobs()
            .tail(&id, "1", rescale_fake::LOG_PATH)
            .lines(1)
            .await;
        if tail.is_ok_and(|t| !t.lines.is_empty()) {
            eprintln!(
                "fake platform: job {id} is a running solver (run 1, log {}); `solver` stands for its id",
                rescale_fake::LOG_PATH
            );
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("the fake solver did not start".into())
}

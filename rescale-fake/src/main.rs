//! `rescale-fake`: the fake Rescale platform as a server to point anything at.
//!
//! ```text
//! cargo run -p rescale-fake -- --port 8080 --seed 100 --state fake.json
//! cargo run -p rescale-fake -- --port 0 --solvers 1 --max-job-hours 24
//! ```
//!
//! Prints the base URL on the first line of stdout and the API key on the second (hints
//! for the shell go to stderr), then serves until Ctrl-C or SIGTERM.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rescale_fake::{FakeConfig, FakeRescale, LOG_PATH, SolverConfig};

/// A fake Rescale API (`/api/v2/`) on 127.0.0.1: jobs run on a clock, no account needed.
#[derive(Parser, Debug)]
#[command(name = "rescale-fake", version)]
struct Args {
    /// Port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Completed jobs to add at start (only when the state file had none).
    #[arg(long, default_value_t = 0)]
    seed: usize,
    /// API key to accept (default: the one in the state file, else a random one).
    #[arg(long, env = "RESCALE_FAKE_KEY")]
    key: Option<String>,
    /// State file: read at start, rewritten after every change.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Time between two statuses of a submitted job (`500ms`, `2s`; a bare number is ms).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    step: Duration,
    /// Delay before every response.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    latency: Duration,
    /// Delay before a new connection is served.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    connect_latency: Duration,
    /// Page size of a list request without `page_size`.
    #[arg(long, default_value_t = 10)]
    default_page_size: usize,
    /// Largest page size honoured.
    #[arg(long, default_value_t = 1000)]
    max_page_size: usize,
    /// Size in bytes of the large output (`results/data.bin`) of each completed job.
    #[arg(long, default_value_t = 3 * 1024 * 1024)]
    large_output_size: usize,
    /// Output files of each completed job.
    #[arg(long, default_value_t = 4)]
    output_files: usize,
    /// Solver jobs to start at startup: each is submitted now, its run 1 is in progress from
    /// five steps later and writes `airFoil2D/log.simpleFoam` line by line, and it runs
    /// until stopped (`POST jobs/{id}/runs/1/stop/`). Their ids go to stderr.
    #[arg(long, default_value_t = 0)]
    solvers: usize,
    /// Lines each solver writes to its log.
    #[arg(long, default_value_t = 200)]
    solver_lines: usize,
    /// Time between two lines of a solver's log.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    solver_line_every: Duration,
    /// The account's `maxJobHours` (`GET users/me/`): a job asking for a longer walltime
    /// fails the pre-flight check.
    #[arg(long)]
    max_job_hours: Option<u32>,
    /// Serve HTTPS with a self-signed certificate written to this PEM file.
    #[cfg(feature = "tls")]
    #[arg(long, value_name = "CERT_PEM")]
    https: Option<PathBuf>,
}

/// `250ms`, `2s`, `1.5s`, `1m`, or a bare number of milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "ms"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 250ms or 2s"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

async fn start(args: &Args, config: FakeConfig) -> std::io::Result<FakeRescale> {
    #[cfg(feature = "tls")]
    if let Some(cert_path) = &args.https {
        let fake = FakeRescale::try_start_https(config).await?;
        let pem = fake.certificate_pem().unwrap_or_default();
        std::fs::write(cert_path, pem)?;
        eprintln!("certificate (PEM) written to {}", cert_path.display());
        return Ok(fake);
    }
    let _ = args;
    FakeRescale::try_start(config).await
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let fresh = args.state.as_ref().is_none_or(|p| !p.exists());
    let config = FakeConfig {
        step: args.step,
        default_page_size: args.default_page_size,
        max_page_size: args.max_page_size,
        large_output_size: args.large_output_size,
        output_files: args.output_files,
        latency: args.latency,
        connect_latency: args.connect_latency,
        api_key: args.key.clone(),
        port: args.port,
        state_path: args.state.clone(),
    };
    let fake = match start(&args, config).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("rescale-fake: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if fresh && args.seed > 0 {
        fake.seed_jobs(args.seed);
    }
    if let Some(hours) = args.max_job_hours {
        fake.set_max_job_hours(hours);
    }
    let (url, key) = (fake.base_url(), fake.api_key());
    println!("{url}");
    println!("{key}");
    let solver = SolverConfig {
        lines: args.solver_lines,
        line_every: args.solver_line_every,
        keep_running: true,
    };
    for _ in 0..args.solvers {
        let id = fake.start_solver(solver.clone());
        eprintln!("solver job {id}: run 1 writes {LOG_PATH}, runs until stopped");
    }
    eprintln!("rescale-fake serving {url} (Ctrl-C to stop)");
    eprintln!("  export RESCALE_API_URL={url} RESCALE_API_KEY={key}");
    #[cfg(feature = "tls")]
    let cacert = args
        .https
        .as_ref()
        .map(|p| format!("--cacert {} ", p.display()))
        .unwrap_or_default();
    #[cfg(not(feature = "tls"))]
    let cacert = "";
    eprintln!("  curl {cacert}-H \"Authorization: Token {key}\" {url}jobs/");
    stop_signal().await;
    eprintln!("rescale-fake: stopping");
    fake.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("40"), Ok(Duration::from_millis(40)));
        assert!(parse_duration("fast").unwrap_err().contains("fast"));
        assert!(parse_duration("3h").unwrap_err().contains("unknown unit"));
    }
}

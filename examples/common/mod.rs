// Each example uses a part of this module.
#![allow(dead_code)]

//! What every example shares: a client for the real platform when `RESCALE_API_KEY` is
//! set, and otherwise a local fake platform (`rescale-fake`), so the examples run with no
//! account and no network.

use std::path::PathBuf;
use std::time::Duration;

use rescale::Client;
use rescale_fake::{FakeConfig, FakeRescale};

/// A client and, when there is no key, the fake platform it talks to (kept alive here).
pub struct Connection {
    /// The client.
    pub client: Client,
    /// How often to poll a job's status: every 15 s on the real platform, faster on the fake.
    pub poll_interval: Duration,
    /// The fake platform, when one was started; dropping it stops it.
    pub fake: Option<FakeRescale>,
}

/// Connects to the platform in `RESCALE_API_KEY` / `RESCALE_API_URL`, or starts a fake one.
pub async fn connect() -> rescale::Result<Connection> {
    if std::env::var_os(rescale::ENV_API_KEY).is_some_and(|k| !k.is_empty()) {
        // A platform on this machine (a `rescale-fake` server) is polled every second.
        let local = std::env::var(rescale::ENV_API_URL).is_ok_and(|u| {
            u.starts_with("http://127.0.0.1:") || u.starts_with("http://localhost:")
        });
        return Ok(Connection {
            client: Client::from_env()?,
            poll_interval: Duration::from_secs(if local { 1 } else { 15 }),
            fake: None,
        });
    }
    // A URL with no key means a platform was meant, not a fake of the example's own.
    for name in [rescale::ENV_API_URL, rescale::ENV_BASE_URL] {
        if let Some(url) = std::env::var_os(name).filter(|u| !u.is_empty()) {
            return Err(rescale::Error::Config(format!(
                "{name} is set ({}) but {} is not: set the key too (a `rescale-fake` server \
                 prints it), or unset {name} to run on a local fake started by the example",
                url.to_string_lossy(),
                rescale::ENV_API_KEY
            )));
        }
    }
    let fake = FakeRescale::start_with(FakeConfig {
        // Slow enough to watch the statuses go by, fast enough to finish in seconds.
        step: Duration::from_millis(150),
        ..FakeConfig::default()
    })
    .await;
    // A few finished jobs, so that listings have something to show.
    fake.seed_jobs(12);
    eprintln!(
        "RESCALE_API_KEY is not set: using a local fake Rescale platform at {} (set RESCALE_API_KEY to use the real one)",
        fake.base_url()
    );
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .build()?;
    Ok(Connection {
        client,
        poll_interval: Duration::from_millis(100),
        fake: Some(fake),
    })
}

/// Where an example writes its downloads: the directory the user gave; else, on the real
/// platform, a fresh directory under the system's temporary directory, kept so the results
/// can be looked at; on the fake, such a directory removed when the example ends (its
/// files are the fake's, and each run would leave one more behind). Never the current
/// directory, which is usually the repository.
pub enum OutputDir {
    /// Given by the user, or kept: left in place.
    Kept(PathBuf),
    /// Removed when dropped.
    Temporary(tempfile::TempDir),
}

impl OutputDir {
    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        match self {
            OutputDir::Kept(path) => path,
            OutputDir::Temporary(dir) => dir.path(),
        }
    }

    /// The directory as printed: with a word on its removal when it is temporary.
    pub fn describe(&self) -> String {
        match self {
            OutputDir::Kept(path) => path.display().to_string(),
            OutputDir::Temporary(dir) => format!(
                "{} (removed when the example ends: the files are the fake's)",
                dir.path().display()
            ),
        }
    }
}

/// The [`OutputDir`] of an example named `example`, on the platform of `connection`.
pub fn output_dir(
    given: Option<PathBuf>,
    example: &str,
    connection: &Connection,
) -> std::io::Result<OutputDir> {
    if let Some(dir) = given {
        return Ok(OutputDir::Kept(dir));
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("rescale-{example}-"))
        .tempdir()?;
    Ok(match connection.fake {
        Some(_) => OutputDir::Temporary(dir),
        None => OutputDir::Kept(dir.keep()),
    })
}

/// A progress bar across many files, and the callback that drives it from the crate's
/// progress events.
pub fn transfer_bar() -> (
    indicatif::ProgressBar,
    impl Fn(rescale::files::ProgressEvent) + Send + Sync + 'static,
) {
    use rescale::files::ProgressKind;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {wide_msg}")
            .expect("the template is valid"),
    );
    let progress = bar.clone();
    let callback = move |event: rescale::files::ProgressEvent| {
        if matches!(event.kind, ProgressKind::Started | ProgressKind::Skipped) {
            progress.inc_length(event.total.unwrap_or(0));
            progress.set_message(event.file.clone());
        }
        progress.inc(event.delta);
    };
    (bar, callback)
}

/// Text from the server, with control characters replaced so it cannot drive the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

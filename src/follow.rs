//! Following a live file like `tail -f`: [`Jobs::follow`] polls [`Jobs::tail`] and yields
//! only the lines it has not yielded yet, until the run completes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::error::Result;
use crate::jobs::Jobs;
use crate::pagination::ItemStream;
use crate::wait::{DEFAULT_MAX_TRANSIENT_ERRORS, PollSource, Polling, poll_started, poll_stream};

/// Time between two polls of a followed file unless told otherwise.
const DEFAULT_FOLLOW_INTERVAL: Duration = Duration::from_secs(10);

/// Lines asked for at each poll unless told otherwise.
const DEFAULT_WINDOW: u32 = 200;

/// What [`Follow`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FollowEvent {
    /// A line the solver wrote, not yielded before.
    Line(String),
    /// Lines may be missing here: none of the lines seen at the previous poll were still
    /// in the window, so more lines than the window holds were written in between. The
    /// lines that follow are the newest window. (Widen [`Follow::window`] or shorten
    /// [`Follow::poll_interval`] to make this rarer.)
    Gap,
    /// The file shrank or was rewritten (a window shorter than asked for that does not
    /// continue the previous one): the lines that follow are the file's new contents.
    Rewritten,
}

impl FollowEvent {
    /// The line, for [`FollowEvent::Line`].
    pub fn line(&self) -> Option<&str> {
        match self {
            FollowEvent::Line(line) => Some(line),
            _ => None,
        }
    }
}

impl Jobs {
    /// Follows a live file of an in-progress run like `tail -f`: a [`Stream`] of
    /// [`FollowEvent`]s, each new line once, oldest first.
    ///
    /// Every [`poll_interval`](Follow::poll_interval) (10 s by default) it reads the last
    /// [`window`](Follow::window) lines (200) with [`tail`](Jobs::tail) and the run with
    /// [`run`](Jobs::run): two job reads per poll, throttled like every call. New lines
    /// are found by matching the start of the new window with the end of the previous one.
    ///
    /// What it cannot know, and how it says so:
    /// - Lines written between two polls that scrolled past the window are lost: it
    ///   yields [`FollowEvent::Gap`] before the new window.
    /// - A file that was truncated or rewritten shows as [`FollowEvent::Rewritten`],
    ///   followed by its new contents (not its old lines again).
    /// - Identical lines are told apart only by position: when the file grows by lines
    ///   equal to the ones already at its end, the overlap is read as the longest match
    ///   and some of those repeats may not be yielded.
    /// - The stream ends when the run completes (its `dateCompleted` is set), or when the
    ///   tail is refused and the job has reached a final status; lines written after the
    ///   last poll are in the run's output files ([`run_files`](Jobs::run_files)). So a
    ///   stream that ends without a line met a run already over: it does not tell a file
    ///   that never existed from one the run wrote, which only its output files can.
    ///   Runs are numbered by the service; [`runs`](Jobs::runs) lists them (`"1"` is the
    ///   first run of a job).
    /// - A run that has not started yet (a job just submitted) is waited for: polling goes
    ///   on until its file can be read. A tail refused at two polls in a row while the
    ///   run is in progress (a path that does not exist) is yielded as the error that
    ///   ends the stream; refused once, it may only mean that the run started between
    ///   the refusal and the look at the run, and the next poll tells.
    ///
    /// Transient errors (429, 5xx, timeouts) are borne up to 5 in a row, as the status
    /// waits do; another error is yielded and ends the stream. `Send + 'static`; dropping
    /// it stops polling.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use rescale::FollowEvent;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let mut log = client.jobs().follow("LeeKa", "1", "airFoil2D/log.simpleFoam");
    /// while let Some(event) = log.try_next().await? {
    ///     match event {
    ///         FollowEvent::Line(line) => println!("{line}"),
    ///         FollowEvent::Gap => eprintln!("[... lines missed ...]"),
    ///         FollowEvent::Rewritten => eprintln!("[file rewritten]"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn follow(
        &self,
        job_id: impl AsRef<str>,
        run_id: impl AsRef<str>,
        path: impl AsRef<str>,
    ) -> Follow {
        Follow {
            target: Target {
                jobs: self.clone(),
                job: job_id.as_ref().to_owned(),
                run: run_id.as_ref().to_owned(),
                path: path.as_ref().to_owned(),
            },
            polling: Polling {
                interval: DEFAULT_FOLLOW_INTERVAL,
                timeout: None,
                max_transient_errors: DEFAULT_MAX_TRANSIENT_ERRORS,
            },
            window: DEFAULT_WINDOW,
            stream: None,
        }
    }
}

/// The file being followed.
#[derive(Debug, Clone)]
struct Target {
    jobs: Jobs,
    job: String,
    run: String,
    path: String,
}

/// A live file's new lines; from [`Jobs::follow`]. A [`Stream`] of
/// `Result<FollowEvent>`, configured before it is first polled.
#[must_use = "following does nothing until the stream is polled"]
pub struct Follow {
    target: Target,
    polling: Polling,
    window: u32,
    stream: Option<ItemStream<FollowEvent>>,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follow")
            .field("job", &self.target.job)
            .field("run", &self.target.run)
            .field("path", &self.target.path)
            .field("polling", &self.polling)
            .field("window", &self.window)
            .finish()
    }
}

impl Follow {
    /// Time between polls (10 s by default). No effect once the stream was polled.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.interval = interval;
        self
    }

    /// Lines read at each poll (200 by default, at least 1): more lines between two polls
    /// than this is a [`FollowEvent::Gap`].
    pub fn window(mut self, lines: u32) -> Self {
        self.window = lines.max(1);
        self
    }

    /// Transient errors in a row to bear before giving up (5 by default).
    pub fn max_transient_errors(mut self, errors: u32) -> Self {
        self.polling.max_transient_errors = errors;
        self
    }
}

impl Stream for Follow {
    type Item = Result<FollowEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        poll_started(&mut this.stream, || {
            let source = FollowSource {
                target: this.target.clone(),
                window: this.window,
                previous: None,
                refused: false,
            };
            poll_stream(source, this.polling.clone())
        })
        .poll_next_unpin(cx)
    }
}

struct FollowSource {
    target: Target,
    window: u32,
    /// The window read at the previous poll (`None` before the first).
    previous: Option<Vec<String>>,
    /// The previous poll's tail was refused while the run looked in progress.
    refused: bool,
}

impl PollSource for FollowSource {
    type Item = FollowEvent;

    async fn poll_once(&mut self, queue: &mut VecDeque<FollowEvent>) -> Result<bool> {
        self.poll(queue).await
    }
}

impl FollowSource {
    /// One poll: the window, then whether the run is over (`Ok(true)`).
    async fn poll(&mut self, queue: &mut VecDeque<FollowEvent>) -> Result<bool> {
        let t = &self.target;
        let tail = t
            .jobs
            .tail(&t.job, &t.run, &t.path)
            .lines(self.window)
            .await;
        let window = match tail {
            Ok(tail) => tail.lines,
            Err(e) if !is_transient(&e) => {
                // The tail is refused outside an in-progress run: before it starts, poll on;
                // once the run or job is over, end quietly. A run in progress by the time
                // it is looked up may have started after the tail was refused: poll once
                // more; refused again while in progress, the refusal is the caller's.
                let state = self.run_state().await?;
                let refused_before = std::mem::replace(&mut self.refused, false);
                return match state {
                    RunState::NotStarted => Ok(false),
                    RunState::Over => Ok(true),
                    RunState::InProgress if refused_before => Err(e),
                    RunState::InProgress => {
                        self.refused = true;
                        Ok(false)
                    }
                };
            }
            Err(e) => return Err(e),
        };
        self.refused = false;
        // A server that sends more lines than were asked for is taken at its word: they
        // are all matched (in linear time) and the new ones yielded.
        let previous = self.previous.as_deref();
        let (marker, fresh) = new_lines(previous, &window, self.window as usize);
        queue.extend(marker);
        queue.extend(fresh.iter().cloned().map(FollowEvent::Line));
        self.previous = Some(window);
        let t = &self.target;
        let run = t.jobs.run(&t.job, &t.run).await?;
        Ok(run.date_completed.is_some())
    }

    /// Where the run is: not started (not listed yet, or no `dateStarted`), over (its
    /// `dateCompleted` set, or the job in a final status), or in progress.
    async fn run_state(&self) -> Result<RunState> {
        let t = &self.target;
        let started = match t.jobs.run(&t.job, &t.run).await {
            Ok(run) if run.date_completed.is_some() => return Ok(RunState::Over),
            Ok(run) => run.date_started.is_some(),
            Err(e) if e.is_not_found() => false,
            Err(e) => return Err(e),
        };
        let newest = t.jobs.statuses(&t.job).page_size(1).page(1).await?;
        if newest.results.first().is_some_and(|e| e.status.is_final()) {
            Ok(RunState::Over)
        } else if started {
            Ok(RunState::InProgress)
        } else {
            Ok(RunState::NotStarted)
        }
    }
}

/// Where a followed run is, when its tail is refused.
enum RunState {
    NotStarted,
    InProgress,
    Over,
}

fn is_transient(e: &crate::Error) -> bool {
    e.is_retryable() || e.status().is_some_and(|s| s.is_server_error())
}

/// What `window` adds to `previous` (both the last lines of the file, oldest first, at
/// most `size` of them; `None` before the first window): a marker when lines may be
/// missing or the file was rewritten, then the lines not seen before.
fn new_lines<'a>(
    previous: Option<&[String]>,
    window: &'a [String],
    size: usize,
) -> (Option<FollowEvent>, &'a [String]) {
    let previous = match previous {
        // The first window is where following starts.
        None => return (None, window),
        // The file was empty: a full window may have lines before it.
        Some([]) if window.len() >= size => return (Some(FollowEvent::Gap), window),
        Some([]) => return (None, window),
        Some(previous) => previous,
    };
    match overlap(previous, window) {
        k if k > 0 => (None, &window[k..]),
        // A full window that shares nothing: more than `size` lines came in between.
        _ if window.len() >= size => (Some(FollowEvent::Gap), window),
        // A short window that does not continue: the file shrank or was rewritten.
        _ => (Some(FollowEvent::Rewritten), window),
    }
}

/// The length of the longest end of `previous` that `window` starts with, in time linear in
/// their lengths (Knuth–Morris–Pratt, with `window` as the pattern): comparing every
/// candidate length would take time in the square of the window's, which the server sets.
fn overlap<T: PartialEq>(previous: &[T], window: &[T]) -> usize {
    if window.is_empty() {
        return 0;
    }
    // fallback[i]: the longest proper prefix of window[..=i] that also ends it.
    let mut fallback = vec![0; window.len()];
    let mut k = 0;
    for i in 1..window.len() {
        while k > 0 && window[i] != window[k] {
            k = fallback[k - 1];
        }
        if window[i] == window[k] {
            k += 1;
        }
        fallback[i] = k;
    }
    // How much of `window` the lines of `previous` end with, line by line.
    let mut matched = 0;
    for line in previous {
        while matched > 0 && (matched == window.len() || *line != window[matched]) {
            matched = fallback[matched - 1];
        }
        if matched < window.len() && *line == window[matched] {
            matched += 1;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `window` adds to `previous`, as owned values.
    fn step(previous: &[&str], window: &[&str], size: usize) -> (Option<FollowEvent>, Vec<String>) {
        let own = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (previous, window) = (own(previous), own(window));
        let (marker, fresh) = new_lines(Some(&previous), &window, size);
        (marker, fresh.to_vec())
    }

    #[test]
    fn growing_file_yields_only_new_lines() {
        assert_eq!(
            step(&["a", "b"], &["a", "b", "c"], 5),
            (None, vec!["c".into()])
        );
        // A full window that slid by two.
        assert_eq!(
            step(&["a", "b", "c"], &["c", "d", "e"], 3),
            (None, vec!["d".into(), "e".into()])
        );
        // Nothing new.
        assert_eq!(step(&["a", "b"], &["a", "b"], 5), (None, vec![]));
        // First poll: everything.
        let first = ["x".to_owned()];
        assert_eq!(new_lines(None, &first, 1), (None, &first[..]));
        // An empty file that grew by less than a window: everything, nothing missed.
        assert_eq!(step(&[], &["x"], 5), (None, vec!["x".into()]));
        // By a whole window: lines may have come before it.
        assert_eq!(
            step(&[], &["x", "y"], 2),
            (Some(FollowEvent::Gap), vec!["x".into(), "y".into()])
        );
    }

    /// Every pair of short sequences over two lines: the linear search finds what trying
    /// every length finds.
    #[test]
    fn the_overlap_is_the_longest_end_that_the_window_starts_with() {
        fn sequences(max: usize) -> Vec<Vec<String>> {
            let mut all = vec![vec![]];
            for len in 1..=max {
                for bits in 0..1u32 << len {
                    let seq = (0..len).map(|i| ["a", "b"][(bits >> i & 1) as usize].to_owned());
                    all.push(seq.collect());
                }
            }
            all
        }
        let all = sequences(6);
        for previous in &all {
            for window in &all {
                let longest = previous.len().min(window.len());
                let expected = (1..=longest)
                    .rev()
                    .find(|&k| previous[previous.len() - k..] == window[..k])
                    .unwrap_or(0);
                assert_eq!(
                    overlap(previous, window),
                    expected,
                    "{previous:?} {window:?}"
                );
            }
        }
    }

    /// A line that counts how often it is compared.
    struct Counted<'a>(&'a str, &'a std::cell::Cell<usize>);

    impl PartialEq for Counted<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.1.set(self.1.get() + 1);
            self.0 == other.0
        }
    }

    /// Windows of 20,000 lines, each compared a bounded number of times: trying every
    /// length from the longest would compare on the order of 10^8 lines in the last case.
    #[test]
    fn a_huge_window_is_matched_in_linear_time() {
        let compared = std::cell::Cell::new(0);
        fn lines<'a>(
            texts: &'a [String],
            compared: &'a std::cell::Cell<usize>,
        ) -> Vec<Counted<'a>> {
            texts.iter().map(|t| Counted(t, compared)).collect()
        }
        let numbered = |from: usize, to: usize| -> Vec<String> {
            (from..to).map(|i| format!("line {i}")).collect()
        };
        let a = vec!["a".to_owned(); 20_000];
        let mut broken = vec!["a".to_owned(); 10_000];
        broken.push("b".to_owned());
        broken.extend(vec!["a".to_owned(); 9_999]);
        let mut same_then_new = a.clone();
        same_then_new.push("new".to_owned());
        for (previous, window, expected) in [
            (numbered(0, 20_000), numbered(1, 20_001), 19_999),
            (numbered(0, 20_000), numbered(30_000, 50_000), 0),
            (a.clone(), same_then_new, 20_000),
            (a.clone(), broken, 10_000),
        ] {
            compared.set(0);
            let found = overlap(&lines(&previous, &compared), &lines(&window, &compared));
            assert_eq!(found, expected);
            let bound = 4 * (previous.len() + window.len());
            assert!(compared.get() <= bound, "{} comparisons", compared.get());
        }
    }

    #[test]
    fn gaps_and_rewrites_are_marked() {
        assert_eq!(
            step(&["a", "b"], &["x", "y"], 2),
            (Some(FollowEvent::Gap), vec!["x".into(), "y".into()])
        );
        assert_eq!(
            step(&["a", "b", "c"], &["new"], 5),
            (Some(FollowEvent::Rewritten), vec!["new".into()])
        );
        assert_eq!(step(&["a"], &[], 5), (Some(FollowEvent::Rewritten), vec![]));
    }
}

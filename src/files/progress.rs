//! Progress reports of uploads and downloads.

use std::sync::Arc;

/// What happened to a transfer, reported to an `on_progress` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressKind {
    /// The transfer of this file starts (again, after a retried upload).
    Started,
    /// Bytes moved.
    Transferred,
    /// A dropped download continues from where it stopped.
    Resumed,
    /// The file is complete and checked.
    Finished,
    /// The file was already present with the right size and checksum; nothing moved.
    Skipped,
}

/// One progress report: which file, what happened, how far along it is.
///
/// Sum `delta` over every event to drive one progress bar across many files: a skipped
/// file counts its size once, in its `Skipped` event. An upload sent again (after a
/// failed attempt) starts over with a new `Started` event, its `done` back at 0: what its
/// earlier attempt had sent counts once more in the sum, so a bar of one upload is best
/// drawn from `done`.
///
/// ```no_run
/// use rescale::files::ProgressKind;
/// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
/// client
///     .files()
///     .download_outputs("LeeKa", "outputs")
///     .on_progress(|event| {
///         if event.kind == ProgressKind::Finished {
///             println!("{} done ({} bytes)", event.file, event.done);
///         }
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressEvent {
    /// The file: its relative path (outputs), its name (uploads, single downloads).
    pub file: String,
    /// What happened.
    pub kind: ProgressKind,
    /// Bytes moved since this file's previous event.
    pub delta: u64,
    /// Bytes of this file moved so far (or present, when skipped).
    pub done: u64,
    /// The file's size, when known.
    pub total: Option<u64>,
}

/// The callback progress goes to; called from whichever task moves the bytes.
pub(crate) type ProgressFn = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// Reports the progress of one file to an optional callback.
pub(crate) struct Reporter {
    callback: Option<ProgressFn>,
    file: String,
    total: Option<u64>,
    done: u64,
}

impl Reporter {
    pub(crate) fn new(callback: Option<ProgressFn>, file: String, total: Option<u64>) -> Self {
        Reporter {
            callback,
            file,
            total,
            done: 0,
        }
    }

    pub(crate) fn set_total(&mut self, total: Option<u64>) {
        if self.total.is_none() {
            self.total = total;
        }
    }

    fn emit(&self, kind: ProgressKind, delta: u64) {
        if let Some(callback) = &self.callback {
            callback(ProgressEvent {
                file: self.file.clone(),
                kind,
                delta,
                done: self.done,
                total: self.total,
            });
        }
    }

    /// Reports the start; `done` counts from zero again.
    pub(crate) fn started(&mut self) {
        self.done = 0;
        self.emit(ProgressKind::Started, 0);
    }

    pub(crate) fn transferred(&mut self, n: u64) {
        self.done += n;
        self.emit(ProgressKind::Transferred, n);
    }

    pub(crate) fn resumed(&self) {
        self.emit(ProgressKind::Resumed, 0);
    }

    pub(crate) fn finished(&self) {
        self.emit(ProgressKind::Finished, 0);
    }

    /// Reports a transfer finished whole, as one whose bytes were counted elsewhere (an
    /// upload's, by the attempt that sent them).
    pub(crate) fn finished_whole(mut self) {
        self.done = self.total.unwrap_or(self.done);
        self.finished();
    }

    pub(crate) fn skipped(&mut self, size: u64) {
        self.done = size;
        self.emit(ProgressKind::Skipped, size);
    }
}

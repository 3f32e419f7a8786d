//! What a batch tells as it runs ([`Event`], each about a [`Step`] of an item) and what a
//! run did ([`Summary`]).

use std::sync::Arc;

/// A step of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Uploading its input files.
    Upload,
    /// Creating its job.
    Create,
    /// Submitting its job.
    Submit,
}

/// What happened to an item, in the order it happened; each event is reported after the
/// ledger recorded it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The batch is loaded from its ledger: `total` items, `submitted` of them already.
    Loaded {
        /// Items in the ledger.
        total: usize,
        /// Items submitted by earlier runs.
        submitted: usize,
    },
    /// A step is about to be sent (its intent is recorded).
    Started {
        /// The item.
        key: String,
        /// The step.
        step: Step,
    },
    /// Every input file of the item is uploaded.
    Uploaded {
        /// The item.
        key: String,
        /// The ids of its files, in the order given.
        file_ids: Vec<String>,
    },
    /// The item's job was created (saved, not started).
    Created {
        /// The item.
        key: String,
        /// The job.
        job_id: String,
    },
    /// The item's job was submitted.
    Submitted {
        /// The item.
        key: String,
        /// The job.
        job_id: String,
    },
    /// Steps whose outcome is unknown (a lost answer, a crash) are looked up on the
    /// service once `wait` has passed (what is left of
    /// [`reconcile_after`](crate::Batch::reconcile_after) since they were sent, perhaps
    /// nothing: a request still on its way must not be missed). Nothing is recorded for it.
    Waiting {
        /// The items looked up.
        keys: Vec<String>,
        /// The step.
        step: Step,
        /// How long until the lookup.
        wait: std::time::Duration,
    },
    /// A step whose outcome was unknown (a lost answer, a crash) was looked up on the
    /// service: `happened` says whether it had taken place.
    Reconciled {
        /// The item.
        key: String,
        /// The step.
        step: Step,
        /// Whether the step had happened (else it is taken again).
        happened: bool,
    },
    /// A step failed; the item is tried again on the next run.
    Failed {
        /// The item.
        key: String,
        /// The step.
        step: Step,
        /// Why.
        error: Arc<rescale::Error>,
    },
}

/// What a run of a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Items in the ledger.
    pub total: usize,
    /// Items submitted, by this run or an earlier one.
    pub submitted: usize,
    /// Items this run submitted.
    pub submitted_now: usize,
    /// Steps whose unknown outcome was looked up on the service.
    pub reconciled: usize,
    /// Items that failed in this run, with the error and its causes on one line
    /// (`I/O error on `inputs/p-3.inp`: No such file or directory (os error 2)`): tried
    /// again on the next run.
    pub failed: Vec<(String, String)>,
}

/// `error` and each of its causes (`source()`), joined by `: `: an error's `Display` is
/// its own level only.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Summary {
    /// `true` when every item is submitted.
    pub fn is_complete(&self) -> bool {
        self.submitted == self.total
    }
}

/// What [`Batch::on_event`](crate::Batch::on_event) keeps.
pub(crate) type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

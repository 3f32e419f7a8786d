//! The mark that ties a job on the service to its item in the ledger, and how the batch
//! looks for it when a create's answer was lost.
//!
//! Convention: the job's name ends with ` [<batch id>/<item key>]`, e.g.
//! `Sweep point 17 [k3x9q0b2ma/row-17]`. The name is in every job summary of `GET jobs/`,
//! so one listing (newest first) finds the jobs of many items at once; `description` is
//! not in the summaries, and the list has no documented search.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rescale::Client;

use crate::error::BatchError;

/// How far before the oldest unknown create the listing goes: the service's clock may be
/// behind this machine's.
const CLOCK_MARGIN: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key; names have limits of their own.
const MAX_KEY: usize = 100;

/// Refuses a key that could not be found again in a job's name.
pub(crate) fn check_key(key: &str) -> Result<(), BatchError> {
    let invalid = |reason| {
        Err(BatchError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.trim().is_empty() {
        return invalid("is blank");
    }
    if key.len() > MAX_KEY {
        return invalid("is longer than 100 bytes");
    }
    if key
        .chars()
        .any(|c| c.is_control() || matches!(c, '[' | ']' | '/'))
    {
        return invalid("contains a control character, `[`, `]` or `/`");
    }
    Ok(())
}

/// The suffix a job of item `key` in batch `batch` carries in its name.
pub(crate) fn mark(batch: &str, key: &str) -> String {
    format!(" [{batch}/{key}]")
}

/// The item key in a job name carrying `batch`'s mark, if any.
fn key_in<'a>(name: &'a str, batch: &str) -> Option<&'a str> {
    let inner = name.strip_suffix(']')?;
    let start = inner.rfind(" [")?;
    inner[start + 2..].strip_prefix(batch)?.strip_prefix('/')
}

/// Finds the jobs of `keys` on the service: a listing of the jobs, newest first (the order
/// of the service's own payloads; its reference does not say), one page after another,
/// back to `CLOCK_MARGIN` before `since_ms` (the oldest intent). A job found is found. A
/// key is reported absent only from a listing that cannot have missed its job:
/// - one whose first page already holds a job older than the margin: a page's jobs are
///   one answer, and every job newer than that one comes before it;
/// - else, the second of two listings in a row that agree job for job. A listing can miss
///   a job when jobs ahead of it are deleted while the pages are read (one pulled onto a
///   page already read), or when the page it is on was cut short: the service counts the
///   list, then reads a page's jobs up to that count, so a job created in between pushes
///   the last one out of a page that looks like the end (`next` null). A page's `count`
///   cannot tell either. A second listing that agrees with the first, job for job, saw
///   none of those changes: a job created or deleted meanwhile would show. A listing in
///   which a page repeats a job of the pages before it saw jobs created while it read
///   (they push every job down a place), which could have cut its last page short: it
///   is no witness, and no listing counts as agreeing with it.
///
/// Otherwise the list is read again, up to `LOOKUPS` listings in all; after that the
/// lookup fails, and the items wait for the next run.
pub(crate) async fn find_jobs(
    client: &Client,
    batch: &str,
    keys: &HashSet<String>,
    since_ms: i64,
) -> rescale::Result<HashMap<String, String>> {
    let mut found = HashMap::new();
    let mut previous: Option<HashSet<String>> = None;
    for _ in 0..LOOKUPS {
        // A listing that found every key is `Settled`.
        match read_jobs(client, batch, keys, since_ms, &mut found).await? {
            Listing::Settled => return Ok(found),
            Listing::Read(ids) if previous.as_ref() == Some(&ids) => return Ok(found),
            Listing::Read(ids) => previous = Some(ids),
            // Not a witness, nor what the next listing may agree with.
            Listing::Changed => previous = None,
        }
    }
    Err(rescale::Error::Pagination(format!(
        "the jobs could not be looked up: the list changed while each of {LOOKUPS} listings \
         read it, so a job this batch created may have moved onto a page already read"
    )))
}

/// How many listings [`find_jobs`] reads at most.
const LOOKUPS: usize = 4;

/// The page size of a lookup: the largest the service is known to honour.
const PAGE_SIZE: u32 = 1000;

/// What one listing saw, besides the jobs it found.
enum Listing {
    /// It found every key, or its first page held a job older than the margin: nothing
    /// newer is missing.
    Settled,
    /// The ids of the jobs on the pages it read, to compare with another listing's: a job
    /// created or deleted between the two shows (the order is the jobs' age, which does
    /// not change).
    Read(HashSet<String>),
    /// A page repeated a job of the pages before it: jobs were created while it read.
    Changed,
}

/// One listing, one page after another, by page number: the jobs of `keys` found go into
/// `found`. A page ends the listing when it holds fewer jobs than a page can and links no
/// further; a full page is followed by the next number even when it links nowhere, as its
/// `next` comes from a count taken at another moment than its jobs. A 404 past the first
/// page ends the listing (the list shrank).
async fn read_jobs(
    client: &Client,
    batch: &str,
    keys: &HashSet<String>,
    since_ms: i64,
    found: &mut HashMap<String, String>,
) -> rescale::Result<Listing> {
    let margin = i64::try_from(CLOCK_MARGIN.as_millis()).unwrap_or(0);
    let stop_before = since_ms.saturating_sub(margin);
    let list = client.jobs().list().page_size(PAGE_SIZE);
    let mut read = HashSet::new();
    let mut repeated = false;
    let read_through = |read, repeated| match repeated {
        true => Listing::Changed,
        false => Listing::Read(read),
    };
    let mut number = 1;
    loop {
        let page = match list.page(number).await {
            Ok(page) => page,
            Err(e) if e.is_not_found() && number > 1 => return Ok(read_through(read, repeated)),
            Err(e) => return Err(e),
        };
        let ended = page.next.is_none() && page.results.len() < PAGE_SIZE as usize;
        if page.results.is_empty() {
            return Ok(read_through(read, repeated));
        }
        // A page of jobs all read already that does not link back: the service ignores
        // the page number (a page that links back was pushed down by as many jobs
        // created, and its listing is no witness).
        if number > 1
            && page.previous.is_none()
            && page
                .results
                .iter()
                .all(|job| read.contains(job.id.as_str()))
        {
            return Err(rescale::Error::Pagination(format!(
                "page {number} of the job list holds only jobs of the pages before it; the \
                 service seems to ignore the page number"
            )));
        }
        for job in &page.results {
            repeated |= !read.insert(job.id.to_string());
        }
        for job in page.results {
            if job
                .date_inserted
                .is_some_and(|d| d.timestamp_millis() < stop_before)
            {
                return Ok(if number == 1 {
                    Listing::Settled
                } else {
                    read_through(read, repeated)
                });
            }
            if let Some(key) = key_in(&job.name, batch).filter(|k| keys.contains(*k)) {
                found.insert(key.to_owned(), job.id.to_string());
                if found.len() == keys.len() {
                    return Ok(Listing::Settled);
                }
            }
        }
        match number.checked_add(1) {
            Some(next) if !ended => number = next,
            _ => return Ok(read_through(read, repeated)),
        }
    }
}

/// Whether a job was submitted, from its status history: a job never submitted has none,
/// and submitting it gives it its first status. (The API reference says only that such a
/// job's list status may be `""`; an empty history is this crate's reading of it, and
/// what `rescale-fake` shows.)
pub(crate) async fn was_submitted(client: &Client, job_id: &str) -> rescale::Result<bool> {
    let page = client.jobs().statuses(job_id).page_size(10).page(1).await?;
    Ok(!page.results.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_found_again_in_the_name() {
        let name = format!("Sweep [a] b{}", mark("batch1", "row-17"));
        assert_eq!(key_in(&name, "batch1"), Some("row-17"));
        assert_eq!(key_in(&name, "batch2"), None);
        assert_eq!(key_in("Sweep", "batch1"), None);
        assert_eq!(key_in("x [batch1/]", "batch1"), Some(""));
    }

    #[test]
    fn keys_that_would_break_the_mark_are_refused() {
        assert!(check_key("row-1").is_ok());
        for bad in ["", " ", "a]b", "a/b", "a\nb", &"x".repeat(101)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}

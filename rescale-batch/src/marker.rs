//! The mark that ties a job on the service to its item in the ledger, and how the batch
//! looks for it when a create's answer was lost.
//!
//! Convention: the job's name ends with ` [<batch id>/<item key>]`, e.g.
//! `Sweep point 17 [k3x9q0b2ma/row-17]`. The name is in every job summary of `GET jobs/`,
//! so one listing (newest first) finds the jobs of many items at once; `description` is
//! not in the summaries, and the list has no documented search.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::TryStreamExt;
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
/// back to `CLOCK_MARGIN` before `since_ms` (the oldest intent). A key missing from a
/// listing during which no job was deleted was certainly not created; see [`read_jobs`].
/// When jobs were deleted meanwhile, the list is read again, up to `LOOKUPS` times in all;
/// after that the lookup fails (and the items wait for the next run): a key is never
/// reported absent on a listing that may have missed its job.
pub(crate) async fn find_jobs(
    client: &Client,
    batch: &str,
    keys: &HashSet<String>,
    since_ms: i64,
) -> rescale::Result<HashMap<String, String>> {
    let mut found = HashMap::new();
    let mut unsettled = String::new();
    for _ in 0..LOOKUPS {
        // A job found stays found: only an absence needs a listing that held still.
        match read_jobs(client, batch, keys, since_ms, &mut found).await? {
            None => return Ok(found),
            Some(why) => unsettled = why,
        }
    }
    Err(rescale::Error::Pagination(format!(
        "the jobs could not be looked up: {unsettled} in each of {LOOKUPS} listings, so a job \
         this batch created may have moved onto a page already read"
    )))
}

/// How many times [`find_jobs`] reads the list when jobs are deleted while it reads it.
const LOOKUPS: usize = 3;

/// One listing, one page after another: the jobs of `keys` found go into `found`. `None`
/// when it is complete: no page told a smaller `count` than the page before it. New jobs
/// come first, so a job created meanwhile only pushes the others towards pages not yet
/// read; only a deletion can pull a job onto a page already read, and a deletion that the
/// `count` does not show was made up for by as many jobs created, which push it back at
/// least as far. `Some(why)` when a page told a smaller count, or none.
async fn read_jobs(
    client: &Client,
    batch: &str,
    keys: &HashSet<String>,
    since_ms: i64,
    found: &mut HashMap<String, String>,
) -> rescale::Result<Option<String>> {
    let stop_before = since_ms.saturating_sub(i64::try_from(CLOCK_MARGIN.as_millis()).unwrap_or(0));
    let mut pages = client.jobs().list().page_size(1000).concurrency(1).pages();
    let mut count = None;
    while let Some(page) = pages.try_next().await? {
        match (count, page.count) {
            (_, None) => return Ok(Some("a page did not tell the list's count".to_owned())),
            (Some(before), Some(now)) if now < before => {
                return Ok(Some(format!(
                    "jobs were deleted while the list was read (its count fell from {before} to {now})"
                )));
            }
            (_, now) => count = now,
        }
        for job in page.results {
            if job
                .date_inserted
                .is_some_and(|d| d.timestamp_millis() < stop_before)
            {
                return Ok(None);
            }
            if let Some(key) = key_in(&job.name, batch).filter(|k| keys.contains(*k)) {
                found.insert(key.to_owned(), job.id.to_string());
                if found.len() == keys.len() {
                    return Ok(None);
                }
            }
        }
    }
    Ok(None)
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

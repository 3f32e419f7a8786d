//! Kill the batch (a child process: this test binary in child mode) at every step
//! boundary, while a create or submit is in flight, and at random instants; run it again
//! with the same ledger; the fake must end with exactly one submitted job per item.
//!
//! `harness = false`: `main` is either the parent (the scenarios) or, with
//! `RESCALE_BATCH_TEST_CHILD` set, one run of the batch.

mod common;

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use rescale_batch::{Batch, Event, Step};
use rescale_fake::{Aim, FakeRescale};

const ITEMS: usize = 6;
const CHILD: &str = "RESCALE_BATCH_TEST_CHILD";
/// `<event>:<n>`: the child aborts right after the n-th such event (after the ledger
/// recorded it), e.g. `created:3` or `started-submit:2`.
const CRASH_AT: &str = "RESCALE_BATCH_CRASH_AT";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os(CHILD).is_some() {
        std::process::exit(runtime.block_on(child()));
    }
    runtime.block_on(parent());
}

fn event_name(e: &Event) -> Option<&'static str> {
    Some(match e {
        Event::Started {
            step: Step::Upload, ..
        } => "started-upload",
        Event::Started {
            step: Step::Create, ..
        } => "started-create",
        Event::Started {
            step: Step::Submit, ..
        } => "started-submit",
        Event::Uploaded { .. } => "uploaded",
        Event::Created { .. } => "created",
        Event::Submitted { .. } => "submitted",
        _ => return None,
    })
}

/// One run of the batch; exit 0 when every item is submitted.
async fn child() -> i32 {
    let var = |name: &str| std::env::var(name).unwrap();
    let dir = var("RESCALE_BATCH_TEST_DIR");
    let client = common::client(
        &var("RESCALE_BATCH_TEST_BASE"),
        &var("RESCALE_BATCH_TEST_KEY"),
    );
    let crash = std::env::var(CRASH_AT).ok().map(|spec| {
        let (name, n) = spec.split_once(':').unwrap();
        (name.to_owned(), n.parse::<usize>().unwrap())
    });
    let seen = std::sync::Mutex::new(std::collections::HashMap::<&'static str, usize>::new());
    let summary = Batch::new(client, Path::new(&dir).join("batch.ledger"))
        .concurrency(2)
        .reconcile_after(Duration::from_millis(200))
        .on_event(move |e| {
            let Some(name) = event_name(e) else { return };
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(name).or_default();
            *n += 1;
            if crash.as_ref().is_some_and(|(at, k)| at == name && k == n) {
                // As sudden as SIGKILL: no destructor, no flush.
                std::process::abort();
            }
        })
        .run(common::items(ITEMS, Path::new(&dir)))
        .await
        .unwrap();
    if summary.is_complete() { 0 } else { 3 }
}

/// Starts one child run against `fake`, with `dir` holding the ledger and inputs.
fn spawn(fake: &FakeRescale, dir: &Path, crash_at: Option<&str>) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD, "1")
        .env("RESCALE_BATCH_TEST_DIR", dir)
        .env("RESCALE_BATCH_TEST_BASE", fake.base_url())
        .env("RESCALE_BATCH_TEST_KEY", fake.api_key())
        .env_remove(CRASH_AT)
        .kill_on_drop(true);
    if let Some(at) = crash_at {
        cmd.env(CRASH_AT, at);
    }
    cmd.spawn().unwrap()
}

/// Waits for a child, guarding only against a hang.
async fn finish(mut child: tokio::process::Child) -> ExitStatus {
    tokio::time::timeout(Duration::from_secs(300), child.wait())
        .await
        .expect("the batch hung")
        .unwrap()
}

/// Runs the batch to completion and checks the service.
async fn complete_and_check(fake: &FakeRescale, dir: &Path, what: &str) {
    let status = finish(spawn(fake, dir, None)).await;
    assert!(status.success(), "{what}: the last run ended with {status}");
    let outcome = common::outcome(fake).await;
    outcome.assert_exactly_once(ITEMS, &[]);
    eprintln!("ok: {what}");
}

async fn parent() {
    let mut scenarios = 0;
    // 1. At each step boundary: after each kind of event, early and late in the batch.
    for event in [
        "started-upload",
        "uploaded",
        "started-create",
        "created",
        "started-submit",
        "submitted",
    ] {
        for n in [1, 4] {
            let fake = FakeRescale::start().await;
            let dir = tempfile::tempdir().unwrap();
            let at = format!("{event}:{n}");
            let status = finish(spawn(&fake, dir.path(), Some(&at))).await;
            assert!(
                !status.success(),
                "{at}: the child did not crash ({status})"
            );
            complete_and_check(&fake, dir.path(), &format!("crash at {at}")).await;
            scenarios += 1;
        }
    }
    // 2. While a create or a submit is in flight, after the service carried it out: the
    //    fake never answers it, and the child is killed once the request has arrived.
    for endpoint in ["POST jobs/", "POST jobs/{id}/submit/"] {
        let fake = FakeRescale::start().await;
        let dir = tempfile::tempdir().unwrap();
        fake.aim_fault(endpoint, Aim::Hang, 1);
        let mut child = spawn(&fake, dir.path(), None);
        let hung = || {
            fake.requests()
                .iter()
                .any(|r| r.endpoint == endpoint && r.status == 0)
        };
        tokio::time::timeout(Duration::from_secs(300), async {
            while !hung() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the request never arrived");
        child.start_kill().unwrap(); // SIGKILL
        finish(child).await;
        complete_and_check(&fake, dir.path(), &format!("SIGKILL during {endpoint}")).await;
        scenarios += 1;
    }
    // 3. At random instants (a fixed seed, so the same set every run): up to three kills
    //    of the same batch, then a run to the end.
    let mut seed: u64 = 0x5EED_BA7C;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for round in 0..4 {
        let fake = FakeRescale::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut kills = 0;
        for _ in 0..3 {
            let delay = Duration::from_millis(next() % 400);
            let mut child = spawn(&fake, dir.path(), None);
            if tokio::time::timeout(delay, child.wait()).await.is_err() {
                child.start_kill().unwrap(); // SIGKILL
                kills += 1;
            }
            finish(child).await;
        }
        let what = format!("random kills, round {round} ({kills} of 3 landed before the end)");
        complete_and_check(&fake, dir.path(), &what).await;
        scenarios += 1;
    }
    eprintln!("crash: {scenarios} scenarios, each ending with exactly one submitted job per item");
}

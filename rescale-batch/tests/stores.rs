//! The SQLite and Redis throttle stores: one budget and one pause for every client (and
//! process, and machine) that uses the same store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use rescale::{Admission, Error, RateLimit, RetryPolicy, ThrottleScope, ThrottleStore};
use rescale_batch::{RedisStore, SqliteStore};
use rescale_fake::{Aim, FakeRescale, Fault};

/// Two independent handles on one store, as two processes would have.
async fn sqlite_pair(dir: &std::path::Path) -> (Arc<dyn ThrottleStore>, Arc<dyn ThrottleStore>) {
    let path = dir.join("throttle.db");
    (
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    )
}

async fn redis_pair(prefix: &str) -> (Arc<dyn ThrottleStore>, Arc<dyn ThrottleStore>) {
    let url = common::redis_url();
    (
        Arc::new(RedisStore::connect(&url).await.unwrap().prefix(prefix)),
        Arc::new(RedisStore::connect(&url).await.unwrap().prefix(prefix)),
    )
}

fn unique(name: &str) -> String {
    format!(
        "test:{name}:{}:{}",
        std::process::id(),
        rescale_batch_test_nanos()
    )
}

fn rescale_batch_test_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A store of another namespace or prefix has a budget of its own.
async fn assert_full_budget(store: &dyn ThrottleStore) {
    let limit = RateLimit::new(20, Duration::from_secs(180));
    let admitted = store.admit(ThrottleScope::Submission, Some(limit)).await;
    assert_eq!(admitted.unwrap(), Admission::Granted);
}

/// The budget is one: what one handle took, the other cannot take again.
async fn one_budget(a: Arc<dyn ThrottleStore>, b: Arc<dyn ThrottleStore>) {
    // Burst 2, then one per 10 s.
    let limit = RateLimit::new(20, Duration::from_secs(180));
    let scope = ThrottleScope::Submission;
    assert_eq!(
        a.admit(scope, Some(limit)).await.unwrap(),
        Admission::Granted
    );
    assert_eq!(
        b.admit(scope, Some(limit)).await.unwrap(),
        Admission::Granted
    );
    for store in [&a, &b] {
        match store.admit(scope, Some(limit)).await.unwrap() {
            Admission::Wait(d) => assert!(
                d > Duration::from_secs(5) && d <= limit.interval() + Duration::from_millis(1),
                "{d:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
    // Other scopes have budgets of their own.
    assert_eq!(
        a.admit(ThrottleScope::Other, Some(limit)).await.unwrap(),
        Admission::Granted
    );
    // A pause through one is seen by the other, and never shortened.
    a.pause(ThrottleScope::JobReads, Duration::from_secs(30))
        .await
        .unwrap();
    b.pause(ThrottleScope::JobReads, Duration::from_secs(1))
        .await
        .unwrap();
    match b.admit(ThrottleScope::JobReads, None).await.unwrap() {
        Admission::Paused(d) => assert!(
            d > Duration::from_secs(20) && d <= Duration::from_secs(30),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sqlite_handles_on_one_file_share_one_budget_and_one_pause() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = sqlite_pair(dir.path()).await;
    one_budget(a, b).await;
    // Another namespace in the same file is another budget.
    let path = dir.path().join("throttle.db");
    let other = SqliteStore::open(&path).unwrap().namespace("other-account");
    assert_full_budget(&other).await;
}

#[tokio::test]
async fn redis_connections_with_one_prefix_share_one_budget_and_one_pause() {
    let prefix = unique("budget");
    let (a, b) = redis_pair(&prefix).await;
    one_budget(a, b).await;
    let other = RedisStore::connect(&common::redis_url())
        .await
        .unwrap()
        .prefix(unique("other"));
    assert_full_budget(&other).await;
}

/// A 429 answered to one client holds back the other: its submit is not sent.
async fn a_429_pauses_every_sharer(a: Arc<dyn ThrottleStore>, b: Arc<dyn ThrottleStore>) {
    let fake = FakeRescale::start().await;
    let client = |store: Arc<dyn ThrottleStore>| {
        rescale::Client::builder()
            .token(fake.api_key())
            .base_url(fake.base_url())
            .retry(RetryPolicy::none().max_retry_after(Duration::from_secs(1)))
            .throttle_store(store)
            .build()
            .unwrap()
    };
    let (first, second) = (client(a), client(b));
    let job = first.jobs().create(&common::job(1)).await.unwrap();
    fake.aim_fault(
        "POST jobs/{id}/submit/",
        Aim::Instead(Fault::TooManyRequests {
            retry_after_secs: 120,
        }),
        1,
    );
    let err = first.jobs().submit(&job.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err}");
    let err = second.jobs().submit(&job.id).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { ref retry_after, .. } if *retry_after > Duration::from_secs(100)),
        "{err:?}"
    );
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);
    // Other scopes go on.
    second.jobs().get(&job.id).await.unwrap();
}

#[tokio::test]
async fn a_429_seen_through_sqlite_pauses_the_scope_for_every_process() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = sqlite_pair(dir.path()).await;
    a_429_pauses_every_sharer(a, b).await;
}

#[tokio::test]
async fn a_429_seen_through_redis_pauses_the_scope_for_every_machine() {
    let (a, b) = redis_pair(&unique("pause")).await;
    a_429_pauses_every_sharer(a, b).await;
}

#[test]
fn sqlite_stores_opened_at_once_on_a_new_file_all_open() {
    // Processes sharing a budget start together: SQLite answers "database is locked" at
    // once, without waiting, to connections that switch a new file to WAL and create its
    // table at the same moment. Each open waits that out. Many rounds, each on a fresh
    // file, 8 connections let go together.
    let dir = tempfile::tempdir().unwrap();
    for round in 0..25 {
        let path = dir.path().join(format!("budget-{round}.db"));
        let start = Arc::new(std::sync::Barrier::new(8));
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(drop)
                })
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
    }
}

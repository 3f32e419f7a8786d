//! The throttle store: clients given one store share one budget and one pause.

use std::sync::Arc;
use std::time::Duration;

use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Error, InProcessStore, RetryPolicy, ThrottleStore};
use rescale_fake::{Aim, FakeRescale, Fault};

#[tokio::test]
async fn a_429_seen_by_one_client_pauses_every_client_of_the_store() {
    let fake = FakeRescale::start().await;
    let store: Arc<dyn ThrottleStore> = Arc::new(InProcessStore::new());
    let client = || {
        rescale::Client::builder()
            .token(fake.api_key())
            .base_url(fake.base_url())
            .retry(RetryPolicy::none().max_retry_after(Duration::from_secs(1)))
            .throttle_store(store.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (client(), client());
    let job = NewJob::new(
        "Paused",
        vec![
            JobAnalysis::new(
                "user_included",
                "echo hi",
                Hardware::new("standard-plus", 1),
            )
            .version("0"),
        ],
    );
    let job = a.jobs().create(&job).await.unwrap();
    fake.aim_fault(
        "POST jobs/{id}/submit/",
        Aim::Instead(Fault::TooManyRequests {
            retry_after_secs: 120,
        }),
        1,
    );
    let err = a.jobs().submit(&job.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err}");
    let err = b.jobs().submit(&job.id).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);

    // A client with a store of its own is not held back.
    let own = rescale::Client::builder()
        .token(fake.api_key())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    own.jobs().submit(&job.id).await.unwrap();
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 2);
}

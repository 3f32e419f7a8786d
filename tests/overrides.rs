//! Per-handle overrides (`Client::with_retry`, `with_attempt_timeout`,
//! `with_operation_timeout`): the handle's calls follow its own settings, while the pool,
//! the throttle (with its store) and the read cache stay the client's. The shared pool is
//! tested in tests/pool.rs, with the raw server that tells connections apart.
//!
//! Nothing here depends on timing: throttling is observed as the requests the server never
//! saw and the error the caller got, with waits of an hour against timeouts of a second.

mod common;

use std::time::Duration;

use rescale::{Client, Error, RateLimit, RetryPolicy, ThrottleConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{KEY, PREFIX, api_path, fixture, requests};

/// A client of `server` whose retries wait a millisecond, throttled by `throttle`.
fn client(server: &MockServer, throttle: ThrottleConfig) -> Client {
    Client::builder()
        .token(KEY)
        .base_url(format!("{}{PREFIX}/", server.uri()))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .throttle(throttle)
        .build()
        .unwrap()
}

/// One job read per hour: the first call goes at once, the next would wait an hour.
fn one_read_per_hour() -> ThrottleConfig {
    ThrottleConfig::default().job_reads(RateLimit::per_hour(1))
}

async fn job_answers(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .mount(server)
        .await;
}

/// The job, 30 seconds late: any timeout under test ends the wait first.
async fn slow_job_answers(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("job.json"))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_override_without_retries_sends_a_failing_get_once_while_the_client_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .mount(&server)
        .await;
    let base = client(&server, ThrottleConfig::off());
    let once_only = base.with_retry(RetryPolicy::none());

    let err = once_only.jobs().get("LeeKa").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1);

    // The client it came from keeps its own policy: the first try and 3 retries.
    let err = base.jobs().get("LeeKa").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1 + 4);
}

#[tokio::test]
async fn a_429_seen_by_the_client_pauses_its_override_too() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let base = client(&server, ThrottleConfig::default());
    let override_ = base.with_attempt_timeout(Duration::from_secs(20));

    // An hour is longer than `max_retry_after`: the 429 ends the call, and pauses the scope.
    let err = base.jobs().get("LeeKa").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1);

    // The override shares the pause: it fails at once without sending anything.
    let err = override_.jobs().get("LeeKa").await.unwrap_err();
    assert!(
        matches!(&err, Error::Throttled { scope, retry_after }
            if scope == "job reads" && *retry_after > Duration::from_secs(60)),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);

    // The control: a second client has a throttle of its own, and does send.
    let second = client(&server, ThrottleConfig::default()).with_retry(RetryPolicy::none());
    let err = second.jobs().get("LeeKa").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err:?}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn the_client_and_its_override_spend_one_budget() {
    let server = MockServer::start().await;
    job_answers(&server).await;
    let base = client(&server, one_read_per_hour());
    // The next read is an hour away; the override may wait a second for it.
    let patient_for_a_second = base.with_operation_timeout(Duration::from_secs(1));

    base.jobs().get("LeeKa").await.unwrap();
    let err = patient_for_a_second.jobs().get("LeeKa").await.unwrap_err();

    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("operation timeout"), "{err}");
    assert_eq!(
        requests(&server).await.len(),
        1,
        "the override spent a budget of its own"
    );

    // The control: a second client with the same limits has a budget of its own.
    client(&server, one_read_per_hour())
        .with_operation_timeout(Duration::from_secs(60))
        .jobs()
        .get("LeeKa")
        .await
        .unwrap();
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn an_operation_timeout_override_ends_a_slow_call_and_names_itself() {
    let server = MockServer::start().await;
    slow_job_answers(&server).await;
    let base = client(&server, ThrottleConfig::off());

    let err = base
        .with_operation_timeout(Duration::from_millis(200))
        .jobs()
        .get("LeeKa")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("operation timeout"), "{err}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn an_attempt_timeout_override_cuts_each_attempt() {
    let server = MockServer::start().await;
    slow_job_answers(&server).await;
    let base = client(&server, ThrottleConfig::off());

    // Two attempts of 200 ms each: the first try and one retry.
    let err = base
        .with_retry(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(1)),
        )
        .with_attempt_timeout(Duration::from_millis(200))
        .jobs()
        .get("LeeKa")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("attempt 2"), "{err}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_zero_override_is_refused_by_name_before_anything_is_sent() {
    let server = MockServer::start().await;
    job_answers(&server).await;
    let base = client(&server, ThrottleConfig::off());

    for (handle, name) in [
        (base.with_attempt_timeout(Duration::ZERO), "attempt_timeout"),
        (
            base.with_operation_timeout(Duration::ZERO),
            "operation_timeout",
        ),
    ] {
        let err = handle.jobs().get("LeeKa").await.unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains(name)),
            "{name}: {err:?}"
        );
    }
    assert!(requests(&server).await.is_empty());
    // The client itself is untouched.
    base.jobs().get("LeeKa").await.unwrap();
    assert_eq!(requests(&server).await.len(), 1);
}

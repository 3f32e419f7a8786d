//! Unit tests of the transport's own rules (origins, paths, settings).

use super::*;

fn transport() -> Transport {
    Transport::new(
        reqwest::Client::new(),
        Url::parse("https://platform.rescale.com/api/v2/").unwrap(),
        SecretString::from("Token k".to_owned()),
        Throttle::new(&crate::ThrottleConfig::default()).unwrap(),
        Settings {
            retry: RetryPolicy::default(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            operation_timeout: None,
            read_idle_timeout: DEFAULT_READ_IDLE_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        },
    )
    .unwrap()
}

#[test]
fn endpoint_escapes_each_segment_and_ends_with_a_slash() {
    let t = transport();
    assert_eq!(
        t.endpoint(&["jobs", "a/b c", "statuses"]).as_str(),
        "https://platform.rescale.com/api/v2/jobs/a%2Fb%20c/statuses/"
    );
    assert_eq!(
        t.endpoint(&["jobs"]).as_str(),
        "https://platform.rescale.com/api/v2/jobs/"
    );
    assert_eq!(
        t.endpoint(&["jobs", "x?y#z"]).as_str(),
        "https://platform.rescale.com/api/v2/jobs/x%3Fy%23z/"
    );
}

/// An attempt that takes `steps` seconds, marking progress after each, then answers.
async fn progressing(activity: &Activity, steps: u32) -> u32 {
    for _ in 0..steps {
        tokio::time::sleep(Duration::from_secs(1)).await;
        activity.touch();
    }
    steps
}

#[tokio::test(start_paused = true)]
async fn an_upload_moving_on_outlives_its_attempt_timeout_and_a_stall_is_cut() {
    let limit = Duration::from_secs(2);
    let activity = Activity::new();
    let started = Instant::now();
    // Ten seconds, with progress each second: five times the limit, never cut.
    assert_eq!(
        until_idle(limit, Some(&activity), progressing(&activity, 10)).await,
        Some(10)
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10));

    // One second of progress, then no more (the answer never comes): cut two seconds
    // after the last progress.
    let activity = Activity::new();
    let started = Instant::now();
    let stalled = async {
        progressing(&activity, 1).await;
        std::future::pending::<u32>().await
    };
    assert_eq!(until_idle(limit, Some(&activity), stalled).await, None);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_without_a_streamed_body_is_cut_at_its_timeout() {
    let limit = Duration::from_secs(2);
    let activity = Activity::new();
    let started = Instant::now();
    // Progress marked somewhere else does not keep an attempt alive that has no body.
    assert_eq!(
        until_idle(limit, None, progressing(&activity, 10)).await,
        None
    );
    assert_eq!(started.elapsed(), limit);
    // A limit past what a clock can hold is no limit.
    assert_eq!(
        until_idle(Duration::MAX, None, progressing(&activity, 3)).await,
        Some(3)
    );
}

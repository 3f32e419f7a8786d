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

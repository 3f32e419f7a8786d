//! `Display` states its own level; the cause is `source()`. A report that walks the chain
//! (`anyhow`'s `{:#}`) shows each cause once, and every level names what a person needs:
//! the call, the host.

mod common;

use common::{KEY, client_without_retries, example_job, file_object, job_file};
use rescale::Error;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Each level of the chain, `Display` of the error first.
fn levels(err: &Error) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

/// Asserts that no level repeats the one below it, and that the key is nowhere.
fn assert_each_cause_once(err: &Error) -> Vec<String> {
    let levels = levels(err);
    for pair in levels.windows(2) {
        assert!(
            !pair[1].is_empty() && !pair[0].contains(&pair[1]),
            "`{}` repeats its cause `{}`",
            pair[0],
            pair[1]
        );
    }
    assert!(!levels.concat().contains(KEY));
    levels
}

#[tokio::test]
async fn a_transport_error_names_the_host_and_leaves_the_cause_to_source() {
    // Bound but not listening: connections are refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();

    let err = client_without_retries(&format!("http://{addr}"))
        .jobs()
        .get("LeeKa")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let levels = assert_each_cause_once(&err);
    assert_eq!(
        levels[0],
        format!("transport error: could not connect to {addr}")
    );
    assert!(levels.len() >= 2, "{levels:?}");
}

#[tokio::test]
async fn an_unknown_outcome_says_so_once_and_its_cause_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/J1/submit/"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"detail": "boom"})))
        .expect(1)
        .mount(&server)
        .await;

    let err = client_without_retries(&server.uri())
        .jobs()
        .submit("J1")
        .await
        .unwrap_err();

    assert!(err.is_outcome_unknown(), "{err:?}");
    let levels = assert_each_cause_once(&err);
    assert_eq!(
        levels,
        [
            "outcome unknown: `submit job` may or may not have taken effect, so it was not retried; check job J1 (its statuses) before trying again",
            "HTTP 500 Internal Server Error on POST jobs/J1/submit/: boom",
        ]
    );
    let report = levels.join(": ");
    assert_eq!(report.matches("boom").count(), 1, "{report}");
}

#[tokio::test]
async fn a_create_that_times_out_reports_the_timeout_as_its_cause() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = rescale::Client::builder()
        .token(KEY)
        .base_url(format!("{}/api/v2/", server.uri()))
        .timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap();

    let err = client.jobs().create(&example_job()).await.unwrap_err();

    assert!(err.is_outcome_unknown(), "{err:?}");
    let levels = assert_each_cause_once(&err);
    assert_eq!(levels.len(), 2, "{levels:?}");
    assert!(levels[1].starts_with("timed out"), "{levels:?}");
}

#[tokio::test]
async fn an_io_error_names_the_path_and_leaves_the_reason_to_source() {
    let server = MockServer::start().await;
    let bytes = b"data".to_vec();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    // The parent of the target is a file: its directory cannot be made.
    let target = blocker.join("out.txt");

    let err = client_without_retries(&server.uri())
        .files()
        .download(&job_file(&file_object("F1", "out.txt", &bytes)))
        .to_path(&target)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let levels = assert_each_cause_once(&err);
    assert_eq!(levels[0], format!("I/O error on `{}`", blocker.display()));
    assert_eq!(levels.len(), 2, "{levels:?}");
}

//! Every call that must not be repeated is sent once when its answer is lost (a 503 may
//! hide a change that was made), and ends with an unknown outcome naming the call; a call
//! that may be repeated is retried. Create, submit, stop and snapshot have their own tests
//! (`errors.rs`, `fake_platform.rs`, `live.rs`); these are the rest.

mod common;

use common::{client_retrying_at_once, requests};
use rescale::jobs::JobPatch;
use rescale::{Client, Error};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that answers every request 503, and a client that would retry three times,
/// at once.
async fn unavailable() -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"detail": "busy"})))
        .mount(&server)
        .await;
    let client = client_retrying_at_once(&server, 3);
    (server, client)
}

/// The call ended as an unknown outcome named `operation`, after one request.
async fn sent_once(server: &MockServer, err: Error, operation: &str) {
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(
        matches!(&err, Error::OutcomeUnknown { operation: op, .. } if op == operation),
        "{err:?}"
    );
    // The answer that left it unknown is kept: its status, through the error's source.
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    let seen = requests(server).await;
    assert_eq!(
        seen.len(),
        1,
        "{:?}",
        seen.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_patch_is_sent_once() {
    let (server, client) = unavailable().await;
    let err = client
        .jobs()
        .patch("LeeKa", &JobPatch::new().name("renamed"))
        .await
        .unwrap_err();
    sent_once(&server, err, "patch job").await;
    assert!(requests(&server).await[0].method == "PATCH");
}

#[tokio::test]
async fn a_share_is_sent_once() {
    let (server, client) = unavailable().await;
    let err = client
        .jobs()
        .share("LeeKa", "someone@example.com", "have a look")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("check job LeeKa"), "{err}");
    sent_once(&server, err, "share job").await;
}

#[tokio::test]
async fn custom_fields_are_set_once() {
    let (server, client) = unavailable().await;
    let err = client
        .jobs()
        .set_custom_fields("LeeKa", &json!({"project_code": "A7"}))
        .await
        .unwrap_err();
    sent_once(&server, err, "set custom fields").await;
}

#[tokio::test]
async fn an_upload_from_a_reader_is_sent_once_and_says_what_a_second_would_do() {
    let (server, client) = unavailable().await;
    let err = client
        .files()
        .upload_reader("numbers.txt", &b"0123456789"[..], 10)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`upload file`"), "{text}");
    assert!(text.contains("a second copy of a file"), "{text}");
    sent_once(&server, err, "upload file").await;
}

#[tokio::test]
async fn an_upload_from_a_path_is_retried_as_it_can_be_read_again() {
    let (server, client) = unavailable().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("model.inp");
    std::fs::write(&input, b"*HEADING\n").unwrap();

    let err = client.files().upload(&input).await.unwrap_err();

    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 4);
    for req in &seen {
        assert!(String::from_utf8_lossy(&req.body).contains("*HEADING"));
    }
}

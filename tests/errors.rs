//! What the caller gets when things go wrong: the server's status and message, the
//! field that was refused before anything was sent, the JSON path of a bad answer.

mod common;

use common::*;
use reqwest::StatusCode;
use rescale::jobs::{CoreTypeRef, Hardware, JobAnalysis, JobPatch, NewJob};
use rescale::{Client, Error};
use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HTML_500: &str = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\
<body><h1>Internal Server Error</h1><p>The server encountered an unexpected condition.</p></body></html>";

fn valid_job() -> NewJob {
    NewJob::new(
        "Example Job",
        vec![JobAnalysis::new(
            "user_included",
            "echo \"Hello world\"",
            Hardware::new("standard-plus", 1),
        )],
    )
}

/// A server that fails the test if it receives anything.
async fn silent_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, want_field: &str) {
    let err = result.expect_err(want_field);
    match &err {
        Error::InvalidInput { field, .. } => assert_eq!(field, want_field, "{err}"),
        other => panic!("expected invalid input for `{want_field}`, got {other:?}"),
    }
    assert!(err.to_string().contains(want_field), "{err}");
    assert_eq!(err.status(), None);
    assert_no_key(&err);
}

#[tokio::test]
async fn a_400_with_a_field_tree_reads_as_field_lines() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path("jobs/")))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_validation.json")))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .jobs()
        .create(&valid_job())
        .await
        .unwrap_err();

    let shown = err.to_string();
    assert!(shown.contains("HTTP 400"), "{shown}");
    assert!(
        shown.contains("jobanalyses[0].command: the 'interactive' flag must be present"),
        "{shown}"
    );
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(!err.is_not_found());
    assert!(!err.is_retryable());
    let api = err.api_error().expect("an API error");
    assert_eq!(
        api.field_errors,
        [(
            "jobanalyses[0].command".to_owned(),
            "the 'interactive' flag must be present".to_owned()
        )]
    );
    assert!(api.body.contains("interactive"), "{}", api.body);
    assert_no_key(&err);
}

#[tokio::test]
async fn a_401_shows_the_servers_detail() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token."})))
        .expect(1..)
        .mount(&server)
        .await;

    let err = client(&server).jobs().get("LeeKa").await.unwrap_err();

    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(
        err.to_string(),
        format!(
            "HTTP 401 Unauthorized on GET jobs/LeeKa/: Invalid token. (the API key was refused by {}; a key works only on the Rescale platform that issued it)",
            server.address()
        )
    );
    assert_eq!(err.api_error().unwrap().message, "Invalid token.");
    assert!(!err.is_retryable());
    assert_no_key(&err);
}

#[tokio::test]
async fn a_404_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/nope/")))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("error_not_found.json")))
        .expect(1..)
        .mount(&server)
        .await;

    let err = client(&server).jobs().get("nope").await.unwrap_err();

    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(
        err.to_string(),
        "HTTP 404 Not Found on GET jobs/nope/: Not found."
    );
    assert!(!err.is_retryable());
    assert_no_key(&err);
}

#[tokio::test]
async fn a_404_on_cluster_statuses_ends_the_stream_as_not_found() {
    use futures::TryStreamExt;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/cluster_statuses/")))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("error_not_found.json")))
        .expect(1..)
        .mount(&server)
        .await;

    let err = client(&server)
        .jobs()
        .cluster_statuses("LeeKa")
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn a_500_html_page_keeps_its_status_and_reads_as_text() {
    let server = MockServer::start().await;
    // Submit is never repeated, so exactly one request arrives.
    Mock::given(method("POST"))
        .and(path(api_path("jobs/LeeKa/submit/")))
        .respond_with(ResponseTemplate::new(500).set_body_raw(HTML_500, "text/html"))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).jobs().submit("LeeKa").await.unwrap_err();

    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    // A 500 on submit may hide a job that started: the outcome is unknown, and its cause
    // shows the status, the call and the page's text.
    assert!(err.is_outcome_unknown(), "{err:?}");
    let shown = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        shown.starts_with("HTTP 500 Internal Server Error on POST jobs/LeeKa/submit/: "),
        "{shown}"
    );
    assert!(
        shown.contains("The server encountered an unexpected condition."),
        "{shown}"
    );
    assert!(!shown.contains('<'), "markup in the message: {shown}");
    assert!(err.api_error().unwrap().body.contains("<html>"));
    assert_no_key(&err);
}

#[tokio::test]
async fn a_502_html_page_from_a_proxy_keeps_its_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
                "text/html",
            ),
        )
        .expect(1..)
        .mount(&server)
        .await;

    let err = client(&server).jobs().list().page(1).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert!(err.to_string().contains("HTTP 502 Bad Gateway"), "{err}");
    assert!(err.is_retryable());
    assert_no_key(&err);
}

#[tokio::test]
async fn a_400_on_delete_while_the_cluster_runs_shows_the_detail() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"detail": "Cannot delete a job whose cluster is running."})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).jobs().delete("LeeKa").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "HTTP 400 Bad Request on DELETE jobs/LeeKa/: Cannot delete a job whose cluster is running."
    );
}

#[tokio::test]
async fn create_refuses_bad_definitions_before_sending() {
    let server = silent_server().await;
    let jobs = client(&server).jobs();

    for (job, field) in bad_definitions() {
        assert_invalid(jobs.create(&job).await, field);
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn update_refuses_bad_definitions_before_sending() {
    let server = silent_server().await;
    let jobs = client(&server).jobs();

    for (job, field) in bad_definitions() {
        assert_invalid(jobs.update("LeeKa", &job).await, field);
    }
    // A job read from the service is checked the same way.
    let mut read: rescale::jobs::Job = serde_json::from_value(fixture("job_created.json")).unwrap();
    read.name = " ".into();
    assert_invalid(jobs.update("LeeKa", &read).await, "name");
    assert!(requests(&server).await.is_empty());
}

/// Each way a definition is refused, and the field the error must name.
fn bad_definitions() -> Vec<(NewJob, &'static str)> {
    let with = |edit: fn(&mut JobAnalysis)| {
        let mut job = valid_job();
        edit(&mut job.job_analyses[0]);
        job
    };
    vec![
        (
            {
                let mut job = valid_job();
                job.name = "   ".into();
                job
            },
            "name",
        ),
        (NewJob::new("Example Job", vec![]), "job_analyses"),
        (with(|a| a.command = "  ".into()), "job_analyses[0].command"),
        (
            with(|a| a.hardware.core_type = CoreTypeRef::new("")),
            "job_analyses[0].hardware.core_type",
        ),
        (
            with(|a| a.hardware.cores_per_slot = 0),
            "job_analyses[0].hardware.cores_per_slot",
        ),
        (
            with(|a| a.hardware.slots = Some(0)),
            "job_analyses[0].hardware.slots",
        ),
    ]
}

#[tokio::test]
async fn blank_ids_are_refused_before_sending() {
    let server = silent_server().await;
    let jobs = client(&server).jobs();

    for id in ["", "   ", ".", ".."] {
        assert_invalid(jobs.get(id).await, "id");
        assert_invalid(jobs.submit(id).await, "id");
        assert_invalid(jobs.update(id, &valid_job()).await, "id");
        assert_invalid(jobs.patch(id, &JobPatch::new().name("x")).await, "id");
        assert_invalid(jobs.delete(id).await, "id");
        assert_invalid(jobs.delete_with_input_files(id).await, "id");
        assert_invalid(jobs.stop(id).await, "id");
        assert_invalid(jobs.share(id, "a@example.com", "hi").await, "id");
        assert_invalid(jobs.files(id).page(1).await, "id");
        assert_invalid(jobs.statuses(id).page(1).await, "id");
        assert_invalid(jobs.cluster_statuses(id).page(1).await, "id");
        assert_invalid(first(jobs.statuses(id).stream()).await, "id");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn other_bad_arguments_name_their_field() {
    let server = silent_server().await;
    let jobs = client(&server).jobs();

    assert_invalid(jobs.share("LeeKa", "  ", "hi").await, "email");
    assert_invalid(jobs.share("LeeKa", "not-an-address", "hi").await, "email");
    assert_invalid(jobs.patch("LeeKa", &JobPatch::new()).await, "patch");
    assert_invalid(
        jobs.patch("LeeKa", &JobPatch::new().name(" ")).await,
        "name",
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_wrong_shaped_job_is_a_decode_error_naming_the_path() {
    let server = MockServer::start().await;
    let mut job = fixture("job_created.json");
    job["jobanalyses"][0]["hardware"]["coresPerSlot"] = json!("many");
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(job))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).jobs().get("LeeKa").await.unwrap_err();

    match &err {
        Error::Decode {
            call,
            status,
            path,
            snippet,
            ..
        } => {
            assert_eq!(call, "GET jobs/LeeKa/");
            assert_eq!(*status, StatusCode::OK);
            assert_eq!(path, "jobanalyses[0].hardware.coresPerSlot");
            assert!(snippet.contains("LeeKa"), "{snippet}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert!(
        err.to_string()
            .contains("jobanalyses[0].hardware.coresPerSlot"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("could not decode the answer to GET jobs/LeeKa/ (HTTP 200 OK)"),
        "{err}"
    );
    assert_no_key(&err);
}

#[tokio::test]
async fn a_wrong_shaped_list_item_is_a_decode_error_naming_the_item() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            2,
            None,
            json!([{"id": "ok", "name": "fine"}, {"id": 5, "name": "bad"}]),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).jobs().list().page(1).await.unwrap_err();
    match &err {
        Error::Decode { call, path, .. } => {
            assert_eq!(call, "GET jobs/");
            assert_eq!(path, "results[1].id");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_non_json_success_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).jobs().get("LeeKa").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("<html>login</html>"), "{err}");
}

#[tokio::test]
async fn the_client_and_builder_never_show_the_key() {
    let server = MockServer::start().await;
    let client = client(&server);
    assert_no_key(&DebugOnly(&client));
    assert!(format!("{client:?}").contains("redacted"));
    let builder = Client::builder().token(KEY);
    assert_no_key(&DebugOnly(&builder));
    // Configuration errors do not echo it either.
    let err = Client::builder()
        .token(KEY)
        .base_url("http://example.com/api/v2/")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_no_key(&err);
    let err = Client::builder()
        .token(format!("{KEY} with space"))
        .build()
        .unwrap_err();
    assert_no_key(&err);
}

/// Lets [`assert_no_key`] look at a value that has only `Debug`.
struct DebugOnly<'a, T>(&'a T);

impl<T: std::fmt::Debug> std::fmt::Debug for DebugOnly<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: std::fmt::Debug> std::fmt::Display for DebugOnly<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The first item of a stream (an ended stream is a test failure).
async fn first<T>(mut stream: rescale::ItemStream<T>) -> Result<T, Error> {
    use futures::StreamExt;
    stream.next().await.expect("the stream yields its error")
}

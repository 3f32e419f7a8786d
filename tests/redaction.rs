//! A server that echoes the key: it must not reach the caller's errors or the logs, in any
//! of its forms (the raw key, `Token <key>`, `Bearer <key>`).

mod common;

use common::capture::Capture;
use common::{
    KEY, client, client_retrying_at_once, example_job, file_object, job_file, requests,
    serve_cut_then_whole,
};
use rescale::{Client, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Everything an error shows: `Display`, `Debug`, each cause, and the API error's fields.
fn everything_shown(err: &Error) -> String {
    let mut shown = format!("{err}\n{err:?}\n{err:#?}\n");
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        shown.push_str(&format!("{c}\n{c:?}\n"));
        cause = c.source();
    }
    if let Some(api) = err.api_error() {
        shown.push_str(&format!(
            "{}\n{}\n{:?}\n",
            api.message, api.body, api.field_errors
        ));
    }
    shown
}

fn assert_redacted(err: &Error) {
    let shown = everything_shown(err);
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

fn fast_client(server: &MockServer) -> Client {
    client_retrying_at_once(server, 2)
}

#[tokio::test]
async fn a_401_that_echoes_the_token_header_shows_no_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "detail": format!("Invalid token header: Token {KEY}; also Bearer {KEY}; or {KEY}")
        })))
        .mount(&server)
        .await;

    let err = client(&server).jobs().get("LeeKa").await.unwrap_err();

    assert_redacted(&err);
    let api = err.api_error().unwrap();
    assert_eq!(
        api.message,
        "Invalid token header: Token [redacted]; also Bearer [redacted]; or [redacted]"
    );
    assert!(api.body.contains("Token [redacted]"), "{}", api.body);
}

#[tokio::test]
async fn field_errors_and_plain_bodies_that_echo_the_key_show_none() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "name": [format!("`Token {KEY}` is not a name")],
            KEY: ["a field named like the key"]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/forbidden/"))
        .respond_with(
            ResponseTemplate::new(403).set_body_raw(format!("no access for {KEY}"), "text/plain"),
        )
        .mount(&server)
        .await;
    let jobs = client(&server).jobs();

    let bad = jobs.create(&example_job()).await.unwrap_err();
    let forbidden = jobs.get("forbidden").await.unwrap_err();

    assert_redacted(&bad);
    assert_eq!(bad.api_error().unwrap().field_errors.len(), 2);
    assert_redacted(&forbidden);
    assert_eq!(
        forbidden.api_error().unwrap().message,
        "no access for [redacted]"
    );
}

#[tokio::test]
async fn an_undecodable_answer_holding_the_key_shows_none_even_where_the_snippet_is_cut() {
    let server = MockServer::start().await;
    // The key straddles the cut of the snippet (512 characters): half a key is a leak too.
    let filler = "x".repeat(492);
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/cut/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("{{\"id\": \"{filler}Token {KEY}"),
            "application/json",
        ))
        .mount(&server)
        .await;
    // serde's message quotes the value it could not take.
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/typed/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": ["Bearer", KEY]})))
        .mount(&server)
        .await;
    let jobs = client(&server).jobs();

    let cut = jobs.get("cut").await.unwrap_err();
    let typed = jobs.get("typed").await.unwrap_err();

    for err in [&cut, &typed] {
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let shown = everything_shown(err);
        assert!(!shown.contains(KEY), "{shown}");
        assert!(
            !shown.contains(&KEY[..6]),
            "part of the key leaked: {shown}"
        );
    }
    assert!(everything_shown(&cut).contains("Token [redac"));
}

#[tokio::test]
async fn retries_and_failures_log_no_key() {
    let log = Capture::start();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/flaky/"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"detail": format!("Token {KEY} busy")})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"detail": format!("Token {KEY} broke")})),
        )
        .mount(&server)
        .await;
    let client = fast_client(&server);

    let flaky = client.jobs().get("flaky").await.unwrap_err();
    let unknown = client.jobs().create(&example_job()).await.unwrap_err();

    assert_eq!(requests(&server).await.len(), 3 + 1);
    assert_redacted(&flaky);
    assert!(unknown.is_outcome_unknown(), "{unknown:?}");
    assert_redacted(&unknown);
    let text = log.text();
    assert_eq!(text.matches("retrying").count(), 2, "{text}");
    assert!(text.contains("request failed"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains(KEY), "the key leaked into the log: {text}");
}

#[tokio::test]
async fn a_download_header_that_echoes_the_key_shows_none() {
    let server = MockServer::start().await;
    let file = job_file(&file_object("F1", "out.txt", b"abc"));
    Mock::given(method("GET"))
        .and(path("/api/v2/files/F1/contents/"))
        .respond_with(
            ResponseTemplate::new(206)
                .insert_header("Content-Range", format!("bytes Token {KEY}").as_str())
                .set_body_bytes(b"abc".to_vec()),
        )
        .mount(&server)
        .await;
    let mut sink = Vec::new();

    let err = client(&server)
        .files()
        .download(&file)
        .to_writer(&mut sink)
        .await
        .unwrap_err();

    match &err {
        Error::Decode { call, path, .. } => {
            assert_eq!(call, "GET files/F1/contents/");
            assert_eq!(path, "Content-Range");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_redacted(&err);
}

#[tokio::test]
async fn a_next_link_that_echoes_the_key_shows_none_in_the_error() {
    use futures::TryStreamExt;
    let server = MockServer::start().await;
    // The link is not a URL, so it is refused; the refusal quotes it.
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2,
            "next": format!("http://[{KEY}/jobs/?page=2"),
            "previous": null,
            "results": [{"id": "J1", "name": "one"}]
        })))
        .mount(&server)
        .await;
    let err = fast_client(&server)
        .jobs()
        .list()
        .concurrency(1)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert_redacted(&err);
}

#[tokio::test]
async fn a_next_link_and_a_redirect_with_the_key_in_their_path_log_no_key() {
    use futures::TryStreamExt;
    let log = Capture::start();
    let server = MockServer::start().await;
    // A next link on the configured origin, whose path holds the key: followed, and logged.
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2,
            "next": format!("{}/api/v2/jobs/{KEY}/?page=2", server.uri()),
            "previous": null,
            "results": [{"id": "J1", "name": "one"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/jobs/{KEY}/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2,
            "next": null,
            "previous": null,
            "results": [{"id": "J2", "name": "two"}]
        })))
        .mount(&server)
        .await;
    // A redirect to a path that holds the key: followed on the same origin, and logged.
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/moved/"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("/api/v2/jobs/{KEY}/").as_str()),
        )
        .mount(&server)
        .await;
    let client = fast_client(&server);

    let listed: Vec<_> = client
        .jobs()
        .list()
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let redirected = client.jobs().get("moved").await.unwrap_err();

    let ids: Vec<_> = listed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["J1", "J2"]);
    // The page is not a job: a decode error, which names the call as asked.
    assert!(matches!(&redirected, Error::Decode { call, .. } if call == "GET jobs/moved/"));
    assert!(!everything_shown(&redirected).contains(KEY));
    let seen: Vec<_> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    let keyed = format!("/api/v2/jobs/{KEY}/");
    assert_eq!(
        seen,
        [
            "/api/v2/jobs/",
            keyed.as_str(),
            "/api/v2/jobs/moved/",
            keyed.as_str()
        ]
    );
    let text = log.text();
    assert!(text.contains("following a redirect"), "{text}");
    assert!(text.contains("path=/api/v2/jobs/[redacted]/"), "{text}");
    assert!(text.contains("to=http://127.0.0.1"), "{text}");
    assert!(!text.contains(KEY), "the key leaked into the log: {text}");
}

#[tokio::test]
async fn a_value_that_quotes_the_key_across_the_cut_shows_none_of_it() {
    let server = MockServer::start().await;
    // serde quotes the bad value in its message, which is cut at 512 characters. With the
    // key placed across the cut, cutting before taking the key out would leave its first
    // part behind; the key is placed at every offset around the cut, past serde's prefix.
    let client = fast_client(&server);
    for pad in 470..=512 {
        let id = format!("J{pad}");
        let value = format!("{}{KEY}", "x".repeat(pad));
        Mock::given(method("GET"))
            .and(path(format!("/api/v2/jobs/{id}/")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": id, "name": "one", "jobanalyses": value})),
            )
            .mount(&server)
            .await;

        let err = client.jobs().get(&id).await.unwrap_err();

        let Error::Decode { path, message, .. } = &err else {
            panic!("expected a decode error, got {err:?}")
        };
        assert_eq!(path, "jobanalyses");
        assert!(
            message.starts_with("invalid type: string \"xxx"),
            "{message}"
        );
        assert!(message.ends_with('…'), "{message}");
        let shown = everything_shown(&err);
        for cut in 4..=KEY.len() {
            assert!(
                !shown.contains(&KEY[..cut]),
                "{cut} characters of the key: {shown}"
            );
        }
    }
}

#[tokio::test]
async fn a_resumed_download_of_a_file_named_with_the_key_logs_no_key() {
    let log = Capture::start();
    let content = b"abcdefghijklmnopqrstuvwxyz".to_vec();
    let server = MockServer::start().await;
    // The first answer ends early, so the download resumes, and says so in the log.
    serve_cut_then_whole(&server, "/api/v2/files/r/contents/", &content, 10).await;
    let file = job_file(&file_object("r", &format!("out/{KEY}.txt"), &content));
    let mut out = Vec::new();

    client(&server)
        .files()
        .download(&file)
        .to_writer(&mut out)
        .await
        .unwrap();

    assert_eq!(out, content);
    assert_eq!(requests(&server).await.len(), 2);
    let text = log.text();
    assert!(text.contains("resuming with Range"), "{text}");
    assert!(text.contains("file=out/[redacted].txt"), "{text}");
    assert!(!text.contains(KEY), "the key leaked into the log: {text}");
}

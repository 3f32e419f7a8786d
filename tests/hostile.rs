//! A hostile server: throttling, gateway errors, cut and stalled bodies, slow answers,
//! foreign links and redirects. Every test checks how many requests the server saw and
//! what the caller got; none may send a second create or submit, or leak the key.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::capture::Capture;
use common::{example_job, fixture, requests};
use futures::TryStreamExt;
use rescale::{Client, ClientBuilder, Error, RateLimit, RetryPolicy, ThrottleConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "hostile-suite-key-5f2d9a";

/// Fast retries, no client-side throttle: only what the test sets is in play.
fn builder(uri: &str) -> ClientBuilder {
    Client::builder()
        .token(KEY)
        .base_url(format!("{uri}/api/v2/"))
        .throttle(ThrottleConfig::off())
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20)),
        )
        .timeout(Duration::from_secs(5))
}

fn client(uri: &str) -> Client {
    builder(uri).build().unwrap()
}

/// An address that refuses connections: a socket bound but not listening, which also keeps
/// a parallel test from taking the port. Keep the socket alive while the address is used.
fn refusing_address() -> (String, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let uri = format!("http://{}", socket.local_addr().unwrap());
    (uri, socket)
}

/// Answers each connection with `response`, then closes it, or holds it open (a stall).
/// Returns the base URI and the number of connections accepted.
async fn raw_server(response: &'static [u8], hold_open: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(response).await;
                let _ = socket.flush().await;
                if hold_open {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    (uri, seen)
}

#[tokio::test]
async fn create_is_retried_after_429_with_retry_after_seconds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(serde_json::json!({"detail": "Request was throttled."})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("job_created.json")))
        .mount(&server)
        .await;

    let job = client(&server.uri())
        .jobs()
        .create(&example_job())
        .await
        .unwrap();

    assert_eq!(job.id, "LeeKa");
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2, "a 429 means the job was not made: one retry");
    assert!(seen.iter().all(|r| r.method.as_str() == "POST"));
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/aabbcc/"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", soon.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/aabbcc/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .mount(&server)
        .await;

    let job = client(&server.uri()).jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.id, "aabbcc");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_ends_retries_and_pauses_every_clone() {
    let server = MockServer::start().await;
    let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", later.as_str()))
        .mount(&server)
        .await;
    let client = client(&server.uri());

    let err = client.jobs().get("aabbcc").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert!(
        err.retry_after().unwrap() > Duration::from_secs(3500),
        "{err:?}"
    );
    assert_eq!(
        requests(&server).await.len(),
        1,
        "not retried: the wait is too long"
    );

    // The scope is paused for every clone: the next read is refused without a request.
    let err = client.clone().jobs().get("other").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.retry_after().unwrap() > Duration::from_secs(3500));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn get_survives_503_twice() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .mount(&server)
        .await;

    let job = client(&server.uri()).jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.id, "aabbcc");
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn get_is_retried_after_500() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .mount(&server)
        .await;

    let job = client(&server.uri()).jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.id, "aabbcc");
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test]
async fn statuses_survive_a_504_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/aabbcc/statuses/"))
        .respond_with(ResponseTemplate::new(504).set_body_raw(
            "<html><body><h1>504 Gateway Time-out</h1></body></html>",
            "text/html",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/aabbcc/statuses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_statuses.json")))
        .mount(&server)
        .await;

    let history: Vec<_> = client(&server.uri())
        .jobs()
        .statuses("aabbcc")
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(history.len(), 6);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn an_html_502_keeps_its_status_and_reads_as_text() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
            "text/html",
        ))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(
        err.to_string(),
        "HTTP 502 Bad Gateway on GET jobs/aabbcc/: 502 Bad Gateway 502 Bad Gateway"
    );
    assert_eq!(requests(&server).await.len(), 3, "first try and 2 retries");
}

#[tokio::test]
async fn create_answered_500_is_sent_once_and_its_outcome_is_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(serde_json::json!({"detail": "Internal error."})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server.uri())
        .jobs()
        .create(&example_job())
        .await
        .unwrap_err();

    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    let text = err.to_string();
    assert!(text.contains("outcome unknown"), "{text}");
    assert!(text.contains("create job"), "{text}");
    // The cause is the source, not repeated in the message.
    assert!(!text.contains("Internal error."), "{text}");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(
        cause,
        "HTTP 500 Internal Server Error on POST jobs/: Internal error."
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn submit_that_times_out_is_sent_once_and_names_the_job() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/LeeKa/submit/"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client.jobs().submit("LeeKa").await.unwrap_err();

    match &err {
        Error::OutcomeUnknown {
            operation,
            job_id,
            source,
        } => {
            assert_eq!(operation, "submit job");
            assert_eq!(job_id.as_ref().map(|id| id.as_str()), Some("LeeKa"));
            assert!(source.is_timeout(), "{source:?}");
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
    assert!(err.to_string().contains("LeeKa"), "{err}");
    let seen = requests(&server).await;
    assert_eq!(
        seen.len(),
        1,
        "a submit that may have arrived is never sent again"
    );
    assert_eq!(seen[0].method.as_str(), "POST");
}

#[tokio::test]
async fn a_deadline_ends_the_whole_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .timeout(Duration::from_secs(10))
        .deadline(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("deadline"), "{err}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("job.json"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .timeout(Duration::from_millis(150))
        .retry(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(requests(&server).await.len(), 2);
}

const HALF_A_BODY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"id\": \"aabbcc\", \"name\": \"cut";

#[tokio::test]
async fn a_connection_closed_halfway_through_a_body_is_retried_for_a_read() {
    let (uri, connections) = raw_server(HALF_A_BODY, false).await;
    let client = builder(&uri)
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        3,
        "first try and 2 retries"
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_cut_is_not_sent_again() {
    let (uri, connections) = raw_server(HALF_A_BODY, false).await;

    let err = client(&uri)
        .jobs()
        .create(&example_job())
        .await
        .unwrap_err();

    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_that_stalls_times_out() {
    let (uri, connections) = raw_server(HALF_A_BODY, true).await;
    let client = builder(&uri)
        .timeout(Duration::from_millis(200))
        .retry(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_download_that_stalls_is_cut_by_the_read_idle_timeout_not_a_total_one() {
    // The per-attempt timeout is far away: only the idle timeout can end this download.
    let (uri, connections) = raw_server(HALF_A_BODY, true).await;
    let client = builder(&uri)
        .timeout(Duration::from_secs(60))
        .read_idle_timeout(Duration::from_millis(150))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let file: rescale::files::JobFile = serde_json::from_value(serde_json::json!({
        "id": "out1", "name": "result.bin", "decryptedSize": 4000
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let err = client
        .files()
        .download(&file)
        .to_path(dir.path().join("result.bin"))
        .await
        .unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    // The first attempt and three resumes that each received nothing, then it gave up.
    assert_eq!(connections.load(Ordering::SeqCst), 4);
    assert!(!dir.path().join("result.bin").exists());
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"id": "aabbcc", "name": "#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server.uri())
        .jobs()
        .get("aabbcc")
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_body_over_the_cap_is_an_error() {
    let server = MockServer::start().await;
    let big = format!(r#"{{"id": "aabbcc", "name": "{}"}}"#, "x".repeat(4096));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(big, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server.uri()).max_body_bytes(1024).build().unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(err.to_string().contains("1024 byte limit"), "{err}");
    assert_eq!(requests(&server).await.len(), 1);
}

/// A 200 with a chunked body (no `Content-Length`) of `{"id": "aabbcc", "name": "xxx…"}`,
/// the name 4,096 bytes long, sent in chunks of 1,024.
fn chunked_job_response() -> &'static [u8] {
    let body = format!(r#"{{"id": "aabbcc", "name": "{}"}}"#, "x".repeat(4096));
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for chunk in body.as_bytes().chunks(1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out.leak()
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_is_an_error() {
    let (uri, connections) = raw_server(chunked_job_response(), false).await;
    let client = builder(&uri).max_body_bytes(1024).build().unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    assert!(err.to_string().contains("1024 byte limit"), "{err}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_chunked_body_under_the_cap_is_read_whole() {
    let (uri, _) = raw_server(chunked_job_response(), false).await;
    let client = builder(&uri).max_body_bytes(8192).build().unwrap();

    let job = client.jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.name.len(), 4096);
}

#[tokio::test]
async fn an_announced_length_is_not_reserved_before_the_bytes_come() {
    // A `Content-Length` past what any buffer can hold, then 256 KiB (several chunks) and
    // the end of the connection. With no cap on the body, reserving the announced length
    // up front would fail (a panic, or an abort for a length that merely cannot be had).
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Content-Length: 9223372036854775809\r\nConnection: close\r\n\r\n"
        .to_vec();
    response.extend(std::iter::repeat_n(b' ', 256 * 1024));
    let (uri, connections) = raw_server(response.leak(), false).await;
    let client = builder(&uri)
        .max_body_bytes(usize::MAX)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let err = client.jobs().get("aabbcc").await.unwrap_err();

    // The body ended short of its length: a transport error, after one connection.
    assert!(matches!(err, rescale::Error::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("while the answer was read"),
        "{err}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let mut page = fixture("jobs_list.json");
    page["next"] = serde_json::json!(format!("{}/api/v2/jobs/?page=2", elsewhere.uri()));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("jobs_list.json")))
        .mount(&elsewhere)
        .await;

    let mut jobs = client(&server.uri()).jobs().list().stream();
    let mut items = 0;
    let err = loop {
        match jobs.try_next().await {
            Ok(Some(_)) => items += 1,
            Ok(None) => panic!("the stream ended without an error"),
            Err(e) => break e,
        }
    };

    assert_eq!(items, 3);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1);
    assert!(
        requests(&elsewhere).await.is_empty(),
        "the key went to another host"
    );
}

#[tokio::test]
async fn a_next_loop_is_stopped() {
    let server = MockServer::start().await;
    let mut first = fixture("jobs_list.json");
    first["next"] = serde_json::json!(format!("{}/api/v2/jobs/?page=2", server.uri()));
    let mut second = fixture("jobs_list.json");
    second["next"] = serde_json::json!(format!("{}/api/v2/jobs/", server.uri()));
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&server)
        .await;

    let pages: Vec<_> = client(&server.uri())
        .jobs()
        .list()
        .pages()
        .collect_all()
        .await;

    assert_eq!(pages.len(), 3);
    assert!(pages[0].is_ok() && pages[1].is_ok());
    assert!(
        matches!(pages[2], Err(Error::Pagination(_))),
        "{:?}",
        pages[2]
    );
    assert_eq!(requests(&server).await.len(), 2);
}

/// Collects a stream whose items are results, errors included.
trait CollectAll<T> {
    async fn collect_all(self) -> Vec<T>;
}

impl<S: futures::Stream<Item = T> + Unpin, T> CollectAll<T> for S {
    async fn collect_all(self) -> Vec<T> {
        futures::StreamExt::collect(self).await
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_carries_no_key() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/aabbcc/"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/stolen/", elsewhere.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .expect(1)
        .mount(&elsewhere)
        .await;

    let job = client(&server.uri()).jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.id, "aabbcc");
    let ours = requests(&server).await;
    assert_eq!(ours.len(), 1);
    assert_eq!(
        ours[0]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(format!("Token {KEY}"))
    );
    let theirs = requests(&elsewhere).await;
    assert_eq!(theirs.len(), 1);
    assert!(
        theirs[0].headers.get("authorization").is_none(),
        "{:?}",
        theirs[0].headers
    );
}

#[tokio::test]
async fn create_is_retried_when_the_connection_is_refused() {
    // Nothing listens: nothing can have been sent, so create may be retried.
    let (refused, _reserved) = refusing_address();
    let log = Capture::start();

    let err = client(&refused)
        .jobs()
        .create(&example_job())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!err.is_outcome_unknown());
    assert_eq!(log.text().matches("retrying").count(), 3, "{}", log.text());
}

#[tokio::test]
async fn the_client_side_limit_makes_a_call_wait_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/LeeKa/submit/"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let log = Capture::start();
    let client = builder(&server.uri())
        .throttle(ThrottleConfig::off().submissions(RateLimit::new(1, Duration::from_millis(200))))
        .build()
        .unwrap();

    client.jobs().submit("LeeKa").await.unwrap();
    client.clone().jobs().submit("LeeKa").await.unwrap();

    let text = log.text();
    assert_eq!(
        text.matches("waiting for the client-side rate limit")
            .count(),
        1,
        "{text}"
    );
    assert!(text.contains("job submission"), "{text}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn the_key_appears_in_no_error_and_no_log() {
    let log = Capture::start();

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/throttled/"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(500).set_body_raw("<html>oops</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/slow/submit/"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/bad/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"id\":", "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/gone/"))
        .and(header("authorization", format!("Token {KEY}").as_str()))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"detail": "Not found."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/flaky/"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let (cut, _) = raw_server(HALF_A_BODY, false).await;
    let (refused, _reserved) = refusing_address();

    let jobs = client.jobs();
    // The 429 pauses every job read for an hour, so it comes last.
    let mut errors: Vec<Error> = vec![
        jobs.create(&example_job()).await.unwrap_err(),
        jobs.submit("slow").await.unwrap_err(),
        jobs.get("bad").await.unwrap_err(),
        jobs.get("gone").await.unwrap_err(),
        jobs.get("flaky").await.unwrap_err(),
        jobs.get("").await.unwrap_err(),
        client.jobs().list().page(0).await.unwrap_err(),
        single_try_client(&cut).jobs().get("x").await.unwrap_err(),
        single_try_client(&refused)
            .jobs()
            .submit("x")
            .await
            .unwrap_err(),
        jobs.get("throttled").await.unwrap_err(),
        jobs.get("throttled").await.unwrap_err(),
    ];
    errors.push(
        Client::builder()
            .token(format!("{KEY} with space"))
            .build()
            .unwrap_err(),
    );
    errors.push(
        Client::builder()
            .token(KEY)
            .base_url("http://example.com/api/v2/")
            .build()
            .unwrap_err(),
    );

    assert!(errors.iter().any(|e| e.is_not_found()));
    assert!(errors.iter().any(Error::is_outcome_unknown));
    assert!(errors.iter().any(|e| matches!(e, Error::Throttled { .. })));
    let text = log.text();
    assert!(
        text.contains("rescale.request"),
        "no span was logged: {text}"
    );
    assert!(
        text.contains("attempts=") && text.contains("elapsed_ms="),
        "{text}"
    );
    for err in &errors {
        let shown = format!("{err}\n{err:?}\n{:?}", std::error::Error::source(err));
        assert!(
            !shown.contains(KEY),
            "the key leaked into an error: {shown}"
        );
    }
    assert!(!text.contains(KEY), "the key leaked into the log");
    assert!(!format!("{client:?}").contains(KEY));
}

fn single_try_client(uri: &str) -> Client {
    builder(uri).retry(RetryPolicy::none()).build().unwrap()
}

#[tokio::test]
async fn with_retries_off_a_call_is_sent_once_and_a_429_still_pauses_its_scope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/flaky/"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/busy/"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry(RetryPolicy::none().max_retry_after(Duration::from_secs(1)))
        .build()
        .unwrap();

    let err = client.jobs().get("flaky").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(requests(&server).await.len(), 1);

    let err = client.jobs().get("busy").await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    let err = client.jobs().get("flaky").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_429_without_retry_after_still_pauses_its_scope_for_a_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/busy/"))
        .respond_with(ResponseTemplate::new(429))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/other/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .expect(0)
        .mount(&server)
        .await;
    // The pause: the first backoff's ceiling, 10 s.
    let policy = RetryPolicy::none().base_delay(Duration::from_secs(10));
    let client = builder(&server.uri()).retry(policy).build().unwrap();

    let err = client.jobs().get("busy").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), None);
    // Another handle waits out the pause; its deadline ends the wait, nothing sent.
    let other = client.with_operation_timeout(Duration::from_millis(200));
    let err = other.jobs().get("other").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_created_job_whose_answer_does_not_decode_is_reported_as_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(201).set_body_string("{\"id\": 42, \"name\": "))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server.uri())
        .jobs()
        .create(&example_job())
        .await
        .unwrap_err();

    // The job exists but its id was not read: a caller must look before creating again.
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(matches!(
        &err,
        Error::OutcomeUnknown { source, .. } if matches!(**source, Error::Decode { .. })
    ));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn an_absurd_retry_after_neither_panics_nor_blocks_forever() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/J1/"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("Retry-After", "10000000000000000000"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri());

    let err = client.jobs().get("J1").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err:?}");

    // The scope is paused (a day at most), so the next read fails at once, unsent.
    let again = client.jobs().get("J1").await.unwrap_err();
    assert!(matches!(again, Error::Throttled { .. }), "{again:?}");
    let Error::Throttled { retry_after, .. } = again else {
        unreachable!()
    };
    assert!(
        retry_after <= Duration::from_secs(24 * 60 * 60),
        "{retry_after:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

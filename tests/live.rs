//! Live output of a running job and the steering of its runs, against wiremock: the exact
//! requests, the decoding of the answers, and `follow`'s handling of windows.

mod common;

use std::time::Duration;

use common::{assert_auth, client, client_without_retries, fixture, only_request, requests};
use futures::{StreamExt, TryStreamExt};
use rescale::{Error, FollowEvent};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn invalid_field(err: &Error) -> &str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn run_directory_reads_the_bare_list_and_keeps_the_links_unfollowed() {
    let server = MockServer::start().await;
    let body = json!([
        {"path": "airFoil2D/0/U", "resource": "/api/jobs/XXXXX/runs/1/tail/airFoil2D/0/U"},
        {"path": "log", "resource": "https://elsewhere.example/api/jobs/XXXXX/runs/1/tail/log"}
    ]);
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/XXXXX/runs/1/directory-contents/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let entries = client(&server)
        .jobs()
        .run_directory("XXXXX", "1")
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].path, "airFoil2D/0/U");
    assert_eq!(
        entries[0].resource.as_deref(),
        Some("/api/jobs/XXXXX/runs/1/tail/airFoil2D/0/U")
    );
    let req = only_request(&server).await;
    assert_auth(&req);
    assert_eq!(req.method.as_str(), "GET");
}

#[tokio::test]
async fn tail_lines_escapes_each_path_part_and_decodes_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("lines", "5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("run_tail_lines.json")))
        .mount(&server)
        .await;
    let tail = client(&server)
        .jobs()
        .tail("j/1", "1", "air Foil#2D/0/U?x")
        .lines(5)
        .await
        .unwrap();
    assert_eq!(
        tail.file_type.as_deref(),
        Some("/home/job_fNjea/work/airFoil2D/0/U: ASCII English text")
    );
    assert_eq!(tail.lines.len(), 5);
    assert!(tail.lines[2].contains("OpenFOAM: The Open Source CFD Toolbox"));
    let req = only_request(&server).await;
    assert_eq!(
        req.url.path(),
        "/api/v2/jobs/j%2F1/runs/1/tail/air%20Foil%232D/0/U%3Fx"
    );
    assert_eq!(req.url.query(), Some("lines=5"));
}

#[tokio::test]
async fn hostile_paths_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let jobs = client(&server).jobs();
    for bad in [
        "../../users/me",
        "a/./b",
        "",
        "/abs",
        "a//b",
        "log\r\nX-Evil: 1",
        "a/..",
    ] {
        let err = jobs.tail("j", "1", bad).lines(10).await.unwrap_err();
        assert_eq!(invalid_field(&err), "path", "{bad:?}");
        let err = jobs
            .tail("j", "1", bad)
            .bytes()
            .next()
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(invalid_field(&err), "path", "{bad:?}");
    }
    let err = jobs.tail("j", "..", "log").lines(1).await.unwrap_err();
    assert_eq!(invalid_field(&err), "run_id");
    let err = jobs.tail("j", "1", "log").lines(0).await.unwrap_err();
    assert_eq!(invalid_field(&err), "lines");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn tail_without_lines_streams_the_raw_bytes() {
    let server = MockServer::start().await;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j/runs/1/tail/out/log"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body.clone()))
        .mount(&server)
        .await;
    let chunks: Vec<_> = client(&server)
        .jobs()
        .tail("j", "1", "out/log")
        .bytes()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.concat(), body);
    let req = only_request(&server).await;
    assert_eq!(req.url.query(), None);
}

#[tokio::test]
async fn a_stalled_raw_tail_is_cut_by_the_read_idle_timeout() {
    // A server that sends headers and a first chunk, then nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst";
        sock.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let client = rescale::Client::builder()
        .token("k")
        .base_url(format!("http://{addr}/api/v2/"))
        .read_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut stream = client.jobs().tail("j", "1", "log").bytes();
    assert_eq!(&stream.try_next().await.unwrap().unwrap()[..], b"first");
    let err = stream.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
}

#[tokio::test]
async fn snapshot_posts_once_and_decodes_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/LeeKa/runs/1/snapshot/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("run_snapshot.json")))
        .mount(&server)
        .await;
    let snap = client(&server)
        .jobs()
        .snapshot_run("LeeKa", "1")
        .await
        .unwrap();
    assert!(snap.is_success());
    assert_eq!(snap.exit_code, Some(0));
    assert_eq!(snap.last_snapshot_id.as_deref(), Some("gQLna"));
    assert_eq!(snap.reason.as_deref(), Some("Generating snapshot."));
    let req = only_request(&server).await;
    assert_auth(&req);
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn stop_run_posts_to_the_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/Lee%20Ka/runs/2/stop/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    client(&server)
        .jobs()
        .stop_run("Lee Ka", "2")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
}

#[tokio::test]
async fn snapshot_and_stop_run_are_never_sent_twice() {
    for (op, rest) in [("snapshot run", "snapshot"), ("stop run", "stop")] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let jobs = client(&server).jobs();
        let err = if rest == "snapshot" {
            jobs.snapshot_run("LeeKa", "1").await.map(drop).unwrap_err()
        } else {
            jobs.stop_run("LeeKa", "1").await.unwrap_err()
        };
        match &err {
            Error::OutcomeUnknown {
                operation, job_id, ..
            } => {
                assert_eq!(operation, op);
                assert_eq!(job_id.as_ref().map(|j| j.as_str()), Some("LeeKa"));
            }
            other => panic!("{op}: expected OutcomeUnknown, got {other:?}"),
        }
        let req = only_request(&server).await;
        assert_eq!(req.url.path(), format!("/api/v2/jobs/LeeKa/runs/1/{rest}/"));
    }
}

/// Mounts `bodies` as the successive answers of `GET <at>` (the last one repeats).
async fn mount_sequence(server: &MockServer, at: &str, bodies: Vec<ResponseTemplate>) {
    let last = bodies.len() - 1;
    for (i, body) in bodies.into_iter().enumerate() {
        let mock = Mock::given(method("GET")).and(path(at)).respond_with(body);
        let mock = if i < last {
            mock.up_to_n_times(1).with_priority(1)
        } else {
            mock.with_priority(2)
        };
        mock.mount(server).await;
    }
}

fn lines(items: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"fileType": "text", "lines": items}))
}

/// The service's refusal of a tail outside an in-progress run.
fn not_in_progress() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"detail": "Run is not in progress."}))
}

fn run(completed: bool) -> ResponseTemplate {
    let date: Value = if completed {
        json!("2026-01-01T00:00:00Z")
    } else {
        Value::Null
    };
    ResponseTemplate::new(200).set_body_json(
        json!({"id": "1", "dateStarted": "2026-01-01T00:00:00Z", "dateCompleted": date}),
    )
}

/// Follows `log` of run 1 of job `j`, polling every millisecond, to the end.
async fn follow_all(server: &MockServer) -> rescale::Result<Vec<FollowEvent>> {
    client(server)
        .jobs()
        .follow("j", "1", "log")
        .poll_interval(Duration::from_millis(1))
        .try_collect()
        .await
}

/// Serves a status history of job `j` whose newest entry is `status`.
async fn mount_newest_status(server: &MockServer, status: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j/statuses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "next": null,
            "results": [{"status": status, "statusDate": null, "statusReason": null}]
        })))
        .mount(server)
        .await;
}

fn line(s: &str) -> FollowEvent {
    FollowEvent::Line(s.to_owned())
}

#[tokio::test]
async fn follow_yields_new_lines_once_and_marks_gaps_and_rewrites() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/tail/log",
        vec![
            lines(&["a", "b"]),
            lines(&["a", "b", "c"]),
            lines(&["x", "y", "z"]),
            lines(&["new"]),
        ],
    )
    .await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/",
        vec![run(false), run(false), run(false), run(true)],
    )
    .await;
    let events: Vec<FollowEvent> = client(&server)
        .jobs()
        .follow("j", "1", "log")
        .poll_interval(Duration::from_millis(1))
        .window(3)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![
            line("a"),
            line("b"),
            line("c"),
            FollowEvent::Gap,
            line("x"),
            line("y"),
            line("z"),
            FollowEvent::Rewritten,
            line("new"),
        ]
    );
    let all = requests(&server).await;
    let tails: Vec<_> = all
        .iter()
        .filter(|r| r.url.path().contains("/tail/"))
        .collect();
    assert_eq!(tails.len(), 4);
    assert!(tails.iter().all(|r| r.url.query() == Some("lines=3")));
    assert_eq!(all.len(), 8, "one tail and one run read per poll");
}

#[tokio::test]
async fn follow_bears_transient_errors_like_the_status_waits() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/tail/log",
        vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(504),
            lines(&["only"]),
        ],
    )
    .await;
    mount_sequence(&server, "/api/v2/jobs/j/runs/1/", vec![run(true)]).await;
    let events: Vec<FollowEvent> = client_without_retries(&server.uri())
        .jobs()
        .follow("j", "1", "log")
        .poll_interval(Duration::from_millis(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events, vec![line("only")]);

    // Past the budget, the error is yielded and ends the stream.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut follow = client_without_retries(&server.uri())
        .jobs()
        .follow("j", "1", "log")
        .poll_interval(Duration::from_millis(1))
        .max_transient_errors(2);
    let err = follow.try_next().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(follow.next().await.is_none());
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn follow_ends_quietly_when_the_tail_is_refused_after_the_job_ended() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j/runs/1/tail/log"))
        .respond_with(not_in_progress())
        .mount(&server)
        .await;
    mount_sequence(&server, "/api/v2/jobs/j/runs/1/", vec![run(false)]).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j/statuses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_statuses.json")))
        .mount(&server)
        .await;
    let events = follow_all(&server).await.unwrap();
    assert!(events.is_empty());

    // While the job is still running, the refusal is the caller's to see.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j/runs/1/tail/log"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .mount(&server)
        .await;
    mount_sequence(&server, "/api/v2/jobs/j/runs/1/", vec![run(false)]).await;
    mount_newest_status(&server, "Executing").await;
    let err = follow_all(&server).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // Refused twice in a row while in progress: the second refusal ends it.
    let tails = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path().contains("/tail/"))
        .count();
    assert_eq!(tails, 2);
}

#[tokio::test]
async fn follow_reads_on_when_the_run_started_between_the_refusal_and_the_look() {
    // The tail is refused (the run has not started), but by the time the run is looked
    // up it has: the next poll reads its lines, and the run then ends.
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/tail/log",
        vec![not_in_progress(), lines(&["a", "b"])],
    )
    .await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/",
        vec![run(false), run(true)],
    )
    .await;
    mount_newest_status(&server, "Executing").await;

    let events = follow_all(&server).await.unwrap();

    assert_eq!(events, vec![line("a"), line("b")]);
}

#[tokio::test]
async fn follow_waits_for_a_run_that_has_not_started() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/tail/log",
        vec![not_in_progress(), lines(&["a"])],
    )
    .await;
    mount_sequence(
        &server,
        "/api/v2/jobs/j/runs/1/",
        vec![
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})),
            run(true),
        ],
    )
    .await;
    mount_newest_status(&server, "Queued").await;
    let events = follow_all(&server).await.unwrap();
    assert_eq!(events, vec![line("a")]);
    let seen: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        seen,
        [
            "/api/v2/jobs/j/runs/1/tail/log",
            "/api/v2/jobs/j/runs/1/",
            "/api/v2/jobs/j/statuses/",
            "/api/v2/jobs/j/runs/1/tail/log",
            "/api/v2/jobs/j/runs/1/",
        ]
    );
}

#[tokio::test]
async fn follow_counts_against_the_job_read_budget() {
    // A 429 asking for an hour holds back every job read of the client, follow's included:
    // the later polls are refused by the client's throttle without reaching the server.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let client = client_without_retries(&server.uri());
    let err = client
        .jobs()
        .follow("j", "1", "log")
        .poll_interval(Duration::from_millis(1))
        .max_transient_errors(3)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match &err {
        Error::Throttled { scope, .. } => assert_eq!(scope, "job reads"),
        other => panic!("expected the job-read scope to be throttled, got {other:?}"),
    }
    assert_eq!(requests(&server).await.len(), 1);
    // Another job read of the same client is held back too.
    let err = client.jobs().get("j").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1);
}

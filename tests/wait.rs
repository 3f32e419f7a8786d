//! Waiting for jobs: outcome rules, watching statuses, tolerance, cluster stop.

mod common;

use std::future::IntoFuture;
use std::time::Duration;

use common::{client_at, client_without_retries, fixture};
use futures::TryStreamExt;
use rescale::jobs::{ClusterStatus, JobStatus, JobStatusEntry};
use rescale::{Error, JobOutcome};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POLL: Duration = Duration::from_millis(5);

/// A history page, newest first, from `(status, reason)` pairs given oldest first.
fn history(oldest_first: &[(&str, Option<&str>)]) -> Value {
    let results: Vec<Value> = oldest_first
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (status, reason))| {
            json!({
                "status": status,
                "statusDate": format!("2016-04-21T17:{:02}:00.000000Z", i),
                "statusReason": reason,
            })
        })
        .collect();
    json!({"count": results.len(), "next": null, "previous": null, "results": results})
}

/// Answers the i-th poll of `route` with `answers[i]`, and the last answer from then on.
async fn mount_sequence(server: &MockServer, route: &str, answers: Vec<ResponseTemplate>) {
    let last = answers.len() - 1;
    for (i, answer) in answers.into_iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path(route.to_owned()))
            .respond_with(answer)
            .with_priority(i as u8 + 1);
        let mock = if i < last {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn polls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

async fn outcome_of(oldest_first: &[(&str, Option<&str>)]) -> JobOutcome {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ok(history(oldest_first))],
    )
    .await;
    client_at(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .await
        .unwrap()
}

#[tokio::test]
async fn watch_yields_each_new_entry_once_oldest_first_until_final() {
    let server = MockServer::start().await;
    let life = [
        ("Pending", None),
        ("Queued", None),
        ("Executing", None),
        ("Completed", Some("Completed successfully")),
    ];
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![
            ok(history(&life[..2])),
            ok(history(&life[..2])),
            ok(history(&life[..3])),
            ok(history(&life)),
        ],
    )
    .await;

    let watch = client_at(&server.uri())
        .jobs()
        .watch("J1")
        .poll_interval(POLL);
    fn send_static<T: Send + 'static>(t: T) -> T {
        t
    }
    let entries: Vec<JobStatusEntry> = send_static(watch).try_collect().await.unwrap();

    let statuses: Vec<&str> = entries.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["Pending", "Queued", "Executing", "Completed"]);
    assert_eq!(polls(&server).await, 4);
    let first = &server.received_requests().await.unwrap()[0];
    assert_eq!(first.url.query(), Some("page_size=100"));
}

#[tokio::test]
async fn completed_successfully_is_a_success() {
    let outcome = outcome_of(&[
        ("Executing", None),
        ("Completed", Some("Completed successfully")),
    ])
    .await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.status().status, JobStatus::Completed);
    assert_eq!(outcome.reason(), None);
}

#[tokio::test]
async fn completed_with_a_run_failed_is_a_failure() {
    let outcome = outcome_of(&[("Executing", None), ("Completed", Some("A run failed"))]).await;
    match outcome {
        JobOutcome::Failed { reason, status } => {
            assert_eq!(reason, "A run failed");
            assert_eq!(status.status, JobStatus::Completed);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn completed_after_stopping_is_a_failure_whatever_the_reason() {
    let outcome = outcome_of(&[
        ("Executing", None),
        ("Stopping", None),
        ("Completed", Some("Completed successfully")),
    ])
    .await;
    assert!(matches!(outcome, JobOutcome::Failed { .. }), "{outcome:?}");
}

#[tokio::test]
async fn other_failure_reasons_are_failures() {
    for reason in [
        "Exceeded max number of restarts",
        "Could not allocate compute resources from the compute provider",
    ] {
        let outcome = outcome_of(&[("Completed", Some(reason))]).await;
        assert_eq!(outcome.reason(), Some(reason));
        assert!(matches!(outcome, JobOutcome::Failed { .. }), "{outcome:?}");
    }
}

#[tokio::test]
async fn force_stop_and_user_terminated_are_stopped() {
    let outcome = outcome_of(&[("Executing", None), ("Force Stop", None)]).await;
    match &outcome {
        JobOutcome::Stopped { reason, status } => {
            assert_eq!(reason, "Force Stop");
            assert_eq!(status.status, JobStatus::ForceStop);
        }
        other => panic!("{other:?}"),
    }
    let outcome = outcome_of(&[
        ("Executing", None),
        ("Stopping", None),
        ("Completed", Some("User Terminated")),
    ])
    .await;
    assert!(
        matches!(&outcome, JobOutcome::Stopped { reason, .. } if reason == "User Terminated"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_history_with_two_final_entries_ends_with_the_newest_for_every_way_of_waiting() {
    // Oldest first: stopped by force, then completed successfully after all.
    let life = [
        ("Executing", None),
        ("Force Stop", None),
        ("Completed", Some("Completed successfully")),
    ];
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ok(history(&life))],
    )
    .await;
    // The fleet's list: no job is unfinished, so J1 is read from its history.
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ok(
            json!({"count": 0, "next": null, "previous": null, "results": []}),
        ))
        .mount(&server)
        .await;
    let jobs = client_at(&server.uri()).jobs();
    let single = jobs
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .await
        .unwrap();
    let fleet = jobs.wait_for_all(["J1"]).poll_interval(POLL).await.unwrap();
    let newest_first: Vec<JobStatusEntry> =
        jobs.statuses("J1").stream().try_collect().await.unwrap();
    let from_history = JobOutcome::from_history(&newest_first).unwrap();
    assert!(single.is_success(), "{single:?}");
    assert_eq!(&single, fleet.values().next().unwrap().as_ref().unwrap());
    assert_eq!(single, from_history);
    // The watch yields the whole poll: both final entries, the newest last.
    let watched: Vec<JobStatusEntry> = jobs
        .watch("J1")
        .poll_interval(POLL)
        .try_collect()
        .await
        .unwrap();
    let statuses: Vec<&str> = watched.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["Executing", "Force Stop", "Completed"]);
}

#[tokio::test]
async fn an_unknown_status_never_ends_the_wait() {
    let server = MockServer::start().await;
    let unknown = ok(history(&[
        ("Executing", None),
        ("Force Stopped", Some("something new")),
    ]));
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![
            unknown.clone(),
            unknown.clone(),
            unknown,
            ok(history(&[
                ("Executing", None),
                ("Force Stopped", Some("something new")),
                ("Completed", Some("Completed successfully")),
            ])),
        ],
    )
    .await;

    let outcome = client_at(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .await
        .unwrap();

    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(polls(&server).await, 4);
}

#[tokio::test]
async fn transient_errors_while_polling_are_borne() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![
            ResponseTemplate::new(504)
                .set_body_string("<html><h1>504 Gateway Time-out</h1></html>"),
            ResponseTemplate::new(502),
            ok(history(&[("Completed", Some("Completed successfully"))])),
        ],
    )
    .await;
    let outcome = client_without_retries(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .max_transient_errors(2)
        .await
        .unwrap();
    assert!(outcome.is_success());
    assert_eq!(polls(&server).await, 3);
}

#[tokio::test]
async fn too_many_transient_errors_end_the_wait_with_the_last_one() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ResponseTemplate::new(504)],
    )
    .await;
    let err = client_without_retries(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .max_transient_errors(2)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(504));
    assert_eq!(polls(&server).await, 3);
}

#[tokio::test]
async fn a_permanent_error_ends_the_wait_at_once() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}))],
    )
    .await;
    let err = client_at(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(polls(&server).await, 1);
}

#[tokio::test]
async fn the_overall_timeout_ends_the_wait_with_a_timeout_error() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ok(history(&[("Executing", None)]))],
    )
    .await;
    let err = client_at(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .timeout(Duration::from_millis(60))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains("J1")),
        "{err}"
    );
    // How many polls fit in 60 ms depends on the machine's load, so none is asserted.
}

#[tokio::test]
async fn dropping_the_wait_stops_polling() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/statuses/",
        vec![ok(history(&[("Executing", None)]))],
    )
    .await;
    // A boxed future: dropping it ends the wait.
    let mut wait = client_at(&server.uri())
        .jobs()
        .wait_for_completion("J1")
        .poll_interval(POLL)
        .into_future();
    // The wait never ends by itself: drive it until it has polled twice (a condition, not
    // a time), then the caller gives up on it.
    for _ in 0..10_000 {
        tokio::select! {
            ended = &mut wait => panic!("the wait ended by itself: {ended:?}"),
            _ = tokio::time::sleep(POLL) => {}
        }
        if polls(&server).await >= 2 {
            break;
        }
    }
    drop(wait);
    let after_drop = polls(&server).await;
    assert!(after_drop >= 2);
    tokio::time::sleep(POLL * 20).await;
    // At most the one request that was on the wire when the wait was dropped.
    assert!(polls(&server).await <= after_drop + 1);
}

#[tokio::test]
async fn the_cluster_waiter_treats_404_as_not_started_and_returns_when_stopped() {
    let server = MockServer::start().await;
    let not_yet = ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}));
    let mut stopping = fixture("job_cluster_statuses.json");
    stopping["results"].as_array_mut().unwrap().remove(0);
    mount_sequence(
        &server,
        "/api/v2/jobs/J1/cluster_statuses/",
        vec![
            not_yet.clone(),
            not_yet,
            ok(stopping),
            ok(fixture("job_cluster_statuses.json")),
        ],
    )
    .await;
    // Each 404 is checked against the job: it exists, so its cluster does not yet.
    let mut job = fixture("job.json");
    job["id"] = json!("J1");
    mount_sequence(&server, "/api/v2/jobs/J1/", vec![ok(job)]).await;

    let entry = client_at(&server.uri())
        .jobs()
        .wait_for_cluster_stop("J1")
        .poll_interval(POLL)
        .await
        .unwrap();

    assert_eq!(entry.status, ClusterStatus::Stopped);
    assert_eq!(polls(&server).await, 4 + 2);
}

#[test]
fn outcome_from_the_fixture_history() {
    let page = fixture("job_statuses.json");
    let history: Vec<JobStatusEntry> = serde_json::from_value(page["results"].clone()).unwrap();
    let outcome = JobOutcome::from_history(&history).unwrap();
    assert!(outcome.is_success());
    assert!(JobOutcome::from_history(&history[1..]).is_none());
}

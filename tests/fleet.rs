//! Watching many jobs with one list-and-poll loop: status changes from the list of
//! unfinished jobs, one history read per job that left it, and a defined end for finished,
//! deleted, unknown and unwatched jobs, and for a list that moves while it is read.
//!
//! Each poll's answers are queued on the mock server in order (`up_to_n_times(1)`), so
//! what a poll sees is fixed by how many requests came before it, not by time.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use rescale::jobs::JobStatus;
use rescale::{Error, FleetEvent, JobId, JobOutcome};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TICK: Duration = Duration::from_millis(1);

/// A summary of job `id` whose list status is `status`.
fn summary(id: &str, status: &str) -> Value {
    json!({"id": id, "name": format!("job {id}"), "jobStatus": {"content": status}})
}

/// One answer of `GET jobs/?state=not_completed` (first page): the unfinished jobs.
async fn poll_answers(server: &MockServer, jobs: Vec<Value>) {
    let body = json!({"count": jobs.len(), "next": null, "previous": null, "results": jobs});
    poll_answer(server, ResponseTemplate::new(200).set_body_json(body)).await;
}

/// One answer of the first page of `GET jobs/?state=not_completed&page_size=1000`.
async fn poll_answer(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .and(query_param("state", "not_completed"))
        .and(query_param("page_size", "1000"))
        .and(query_param_is_missing("page"))
        .respond_with(response)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// One answer of job `id`'s status history: `entries` as (status, reason), newest first.
async fn history_answers(server: &MockServer, id: &str, entries: &[(&str, Option<&str>)]) {
    let results: Vec<Value> = entries
        .iter()
        .map(|(status, reason)| json!({"status": status, "statusDate": null, "statusReason": reason}))
        .collect();
    let body = json!({"count": results.len(), "next": null, "previous": null, "results": results});
    history_answer(server, id, ResponseTemplate::new(200).set_body_json(body)).await;
}

async fn history_answer(server: &MockServer, id: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(api_path(&format!("jobs/{id}/statuses/"))))
        .respond_with(response)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}))
}

/// The events of a fleet as text, e.g. `A Executing`, `A succeeded`, `B failed: A run
/// failed`, `C 404`, ending with `error: ...` if the stream ended with an error.
async fn events(fleet: rescale::Fleet) -> Vec<String> {
    let mut fleet = fleet.poll_interval(TICK);
    let mut seen = Vec::new();
    while let Some(event) = fleet.next().await {
        seen.push(match event {
            Ok(FleetEvent::Status { id, status }) => format!("{id} {status}"),
            Ok(FleetEvent::Finished { id, outcome }) => format!("{id} {}", describe(&outcome)),
            Ok(FleetEvent::NotSubmitted { id }) => format!("{id} not submitted"),
            Ok(other) => format!("{other:?}"),
            Err(e) => {
                seen.push(format!("error: {}", e.status().map_or(0, |s| s.as_u16())));
                assert!(
                    fleet.next().await.is_none(),
                    "the fleet went on after its error"
                );
                break;
            }
        });
    }
    seen
}

fn describe(outcome: &rescale::Result<JobOutcome>) -> String {
    match outcome {
        Ok(o) if o.is_success() => "succeeded".into(),
        Ok(o) => format!("failed: {}", o.reason().unwrap_or_default()),
        Err(e) => e
            .status()
            .map_or_else(|| e.to_string(), |s| s.as_u16().to_string()),
    }
}

/// How many requests reached `rest` (`jobs/` or `jobs/{id}/statuses/`).
async fn count(server: &MockServer, rest: &str) -> usize {
    let wanted = api_path(rest);
    requests(server)
        .await
        .iter()
        .filter(|r| r.url.path() == wanted)
        .count()
}

#[tokio::test]
async fn status_changes_then_one_history_read_per_finished_job() {
    let server = MockServer::start().await;
    // Poll 1: A executing, B queued, X (not watched) executing.
    poll_answers(
        &server,
        vec![
            summary("A", "Executing"),
            summary("B", "Queued"),
            summary("X", "Executing"),
        ],
    )
    .await;
    // Poll 2: A has left the list; B moved on.
    poll_answers(
        &server,
        vec![summary("B", "Executing"), summary("X", "Executing")],
    )
    .await;
    // Poll 3: B has left too.
    poll_answers(&server, vec![summary("X", "Executing")]).await;
    history_answers(
        &server,
        "A",
        &[
            ("Completed", Some("Completed successfully")),
            ("Executing", None),
        ],
    )
    .await;
    history_answers(
        &server,
        "B",
        &[
            ("Completed", Some("A run failed")),
            ("Stopping", None),
            ("Executing", None),
        ],
    )
    .await;

    let fleet = client(&server).jobs().watch_many(["A", "B"]);
    assert_eq!(
        events(fleet).await,
        [
            "A Executing",
            "B Queued",
            // Poll 2: the status changes first, then the jobs that finished.
            "B Executing",
            "A succeeded",
            "B failed: A run failed",
        ]
    );
    assert_eq!(
        count(&server, "jobs/").await,
        3,
        "one list request per poll"
    );
    assert_eq!(count(&server, "jobs/A/statuses/").await, 1);
    assert_eq!(count(&server, "jobs/B/statuses/").await, 1);
    assert_eq!(
        count(&server, "jobs/X/statuses/").await,
        0,
        "X is not watched"
    );
    assert_eq!(requests(&server).await.len(), 5);
}

#[tokio::test]
async fn a_deleted_job_and_an_unknown_id_finish_with_not_found() {
    let server = MockServer::start().await;
    poll_answers(&server, vec![summary("A", "Executing")]).await;
    poll_answers(&server, vec![]).await;
    // "nope" never existed: its history answers 404 at the first poll.
    history_answer(&server, "nope", not_found()).await;
    // A is deleted between the polls.
    history_answer(&server, "A", not_found()).await;

    let fleet = client(&server).jobs().watch_many(["A", "nope"]);
    assert_eq!(events(fleet).await, ["A Executing", "nope 404", "A 404"]);
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn a_watched_job_missing_from_one_poll_is_confirmed_before_it_is_finished() {
    let server = MockServer::start().await;
    // Poll 1 holds two pages, and the list moved between them: A shows on both. The last
    // page repeats A and links nowhere, so page 3 is read too: past the end, as the first
    // page, read again, tells.
    let next = api_url(&server, "jobs/?page=2&page_size=1000&state=not_completed");
    let first = json!({"count": 3, "next": next, "previous": null,
                       "results": [summary("X", "Queued"), summary("A", "Executing")]});
    poll_answer(
        &server,
        ResponseTemplate::new(200).set_body_json(first.clone()),
    )
    .await;
    poll_answer(&server, ResponseTemplate::new(200).set_body_json(first)).await;
    for (number, response) in [
        (
            "2",
            ResponseTemplate::new(200).set_body_json(json!({
            "count": 3, "next": null, "previous": null,
            "results": [summary("A", "Executing"), summary("B", "Queued")]})),
        ),
        ("3", not_found()),
    ] {
        Mock::given(method("GET"))
            .and(path(api_path("jobs/")))
            .and(query_param("page", number))
            .respond_with(response)
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    // Poll 2: A is missing (it moved while the list was read), yet not finished.
    poll_answers(&server, vec![summary("B", "Queued")]).await;
    history_answers(&server, "A", &[("Executing", None), ("Queued", None)]).await;
    // Poll 3: A is back, unchanged; B has finished.
    poll_answers(&server, vec![summary("A", "Executing")]).await;
    history_answers(
        &server,
        "B",
        &[("Completed", Some("Completed successfully"))],
    )
    .await;
    // Poll 4: A has finished.
    poll_answers(&server, vec![]).await;
    history_answers(&server, "A", &[("Force Stop", None), ("Executing", None)]).await;

    let fleet = client(&server).jobs().watch_many(["A", "B", "A"]);
    assert_eq!(
        events(fleet).await,
        [
            "A Executing",
            "B Queued",
            "B succeeded",
            "A failed: Force Stop"
        ],
        "A's status shows once, and a poll that missed it did not finish it"
    );
    assert_eq!(count(&server, "jobs/A/statuses/").await, 2);
}

#[tokio::test]
async fn a_job_never_submitted_is_told_once_and_watched_until_it_finishes() {
    let server = MockServer::start().await;
    // Polls 1 and 2: A is not in the list, and has no history (it was never submitted).
    for _ in 0..2 {
        poll_answers(&server, vec![]).await;
        history_answers(&server, "A", &[]).await;
    }
    // Poll 3: submitted at last; poll 4: finished.
    poll_answers(&server, vec![summary("A", "Queued")]).await;
    poll_answers(&server, vec![]).await;
    history_answers(
        &server,
        "A",
        &[("Completed", Some("Completed successfully"))],
    )
    .await;

    let fleet = client(&server).jobs().watch_many(["A"]);
    assert_eq!(
        events(fleet).await,
        ["A not submitted", "A Queued", "A succeeded"]
    );
    assert_eq!(count(&server, "jobs/A/statuses/").await, 3);
}

#[tokio::test]
async fn a_job_listed_with_an_empty_status_at_two_polls_is_told_not_submitted_once() {
    let server = MockServer::start().await;
    // A is listed unsubmitted at polls 1 to 3; B only at poll 1 (then submitted).
    poll_answers(&server, vec![summary("A", ""), summary("B", "")]).await;
    poll_answers(&server, vec![summary("A", ""), summary("B", "Queued")]).await;
    poll_answers(&server, vec![summary("A", ""), summary("B", "Queued")]).await;
    // Poll 4: A submitted; poll 5: both finished.
    poll_answers(
        &server,
        vec![summary("A", "Queued"), summary("B", "Executing")],
    )
    .await;
    poll_answers(&server, vec![]).await;
    for id in ["A", "B"] {
        history_answers(
            &server,
            id,
            &[("Completed", Some("Completed successfully"))],
        )
        .await;
    }

    let fleet = client(&server).jobs().watch_many(["A", "B"]);
    assert_eq!(
        events(fleet).await,
        [
            // Poll 2, in the order the ids were given.
            "A not submitted",
            "B Queued",
            "A Queued",
            "B Executing",
            "A succeeded",
            "B succeeded"
        ]
    );
    assert_eq!(count(&server, "jobs/A/statuses/").await, 1);
}

#[tokio::test]
async fn transient_list_errors_are_borne_then_end_the_fleet() {
    let server = MockServer::start().await;
    poll_answer(&server, ResponseTemplate::new(503).set_body_string("busy")).await;
    poll_answers(&server, vec![summary("A", "Queued")]).await;
    poll_answer(&server, ResponseTemplate::new(503).set_body_string("busy")).await;
    poll_answer(&server, ResponseTemplate::new(503).set_body_string("busy")).await;

    let client = client_without_retries(&server.uri());
    let fleet = client.jobs().watch_many(["A"]).max_transient_errors(1);
    assert_eq!(events(fleet).await, ["A Queued", "error: 503"]);
    assert_eq!(
        count(&server, "jobs/A/statuses/").await,
        0,
        "no poll missed A"
    );
}

#[tokio::test]
async fn a_list_that_changed_too_much_under_its_read_is_polled_again() {
    let server = MockServer::start().await;
    // A `next` link that cannot be followed (here: another origin) ends that read with a
    // pagination error; the next poll reads the list afresh.
    let body = json!({"count": 2000, "next": "https://elsewhere.example/api/v2/jobs/?page=2",
                      "previous": null, "results": [summary("A", "Queued")]});
    poll_answer(&server, ResponseTemplate::new(200).set_body_json(body)).await;
    poll_answers(&server, vec![summary("A", "Queued")]).await;
    poll_answers(&server, vec![]).await;
    history_answers(&server, "A", &[("Completed", None)]).await;

    let fleet = client(&server)
        .jobs()
        .watch_many(["A"])
        .max_transient_errors(1);
    assert_eq!(events(fleet).await, ["A Queued", "A succeeded"]);
}

#[tokio::test]
async fn a_job_seen_in_the_list_starts_its_count_of_history_errors_again() {
    let server = MockServer::start().await;
    // A's history fails each time A is missing from a poll, with a poll that lists it in
    // between: the errors are not in a row, and A stays watched until it finishes.
    let busy = || ResponseTemplate::new(503).set_body_string("busy");
    poll_answers(&server, vec![]).await;
    history_answer(&server, "A", busy()).await;
    poll_answers(&server, vec![summary("A", "Executing")]).await;
    poll_answers(&server, vec![]).await;
    history_answer(&server, "A", busy()).await;
    poll_answers(&server, vec![]).await;
    history_answers(&server, "A", &[("Completed", None)]).await;

    let client = client_without_retries(&server.uri());
    let fleet = client.jobs().watch_many(["A"]).max_transient_errors(1);
    assert_eq!(events(fleet).await, ["A Executing", "A succeeded"]);
}

#[tokio::test]
async fn a_job_listed_final_whose_history_keeps_failing_is_given_up() {
    let server = MockServer::start().await;
    // Listed with a final status, A's history is read at every poll: its errors are in a
    // row, and the budget of one ends A with the second.
    let busy = || ResponseTemplate::new(503).set_body_string("busy");
    poll_answers(&server, vec![summary("A", "Completed")]).await;
    history_answer(&server, "A", busy()).await;
    poll_answers(&server, vec![summary("A", "Completed")]).await;
    history_answer(&server, "A", busy()).await;

    let client = client_without_retries(&server.uri());
    let fleet = client.jobs().watch_many(["A"]).max_transient_errors(1);
    assert_eq!(events(fleet).await, ["A 503"]);
}

#[tokio::test]
async fn a_non_transient_list_error_ends_the_fleet() {
    let server = MockServer::start().await;
    let refused = ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token."}));
    poll_answer(&server, refused).await;

    let fleet = client(&server).jobs().watch_many(["A"]);
    assert_eq!(events(fleet).await, ["error: 401"]);
}

#[tokio::test]
async fn a_transient_history_error_keeps_the_job_watched() {
    let server = MockServer::start().await;
    poll_answers(&server, vec![]).await;
    history_answer(
        &server,
        "A",
        ResponseTemplate::new(504).set_body_string("gateway"),
    )
    .await;
    poll_answers(&server, vec![]).await;
    history_answers(
        &server,
        "A",
        &[("Completed", Some("Completed successfully"))],
    )
    .await;

    let client = client_without_retries(&server.uri());
    assert_eq!(
        events(client.jobs().watch_many(["A"])).await,
        ["A succeeded"]
    );
}

/// B and "gone" are over at the first poll (B stopped, "gone" unknown), A at the second.
async fn three_jobs_finish(server: &MockServer) {
    poll_answers(server, vec![summary("A", "Executing")]).await;
    history_answer(server, "gone", not_found()).await;
    history_answers(server, "B", &[("Completed", Some("User Terminated"))]).await;
    poll_answers(server, vec![]).await;
    history_answers(
        server,
        "A",
        &[("Completed", Some("Completed successfully"))],
    )
    .await;
}

#[tokio::test]
async fn wait_for_all_gives_every_outcome_in_finishing_order_and_as_a_map() {
    let server = MockServer::start().await;
    three_jobs_finish(&server).await;

    let ids = ["A", "B", "gone"];
    let jobs = client(&server).jobs();
    let order: Vec<String> = jobs
        .wait_for_all(ids)
        .poll_interval(TICK)
        .stream()
        .map_ok(|(id, outcome)| format!("{id} {}", describe(&outcome)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        order,
        ["B failed: User Terminated", "gone 404", "A succeeded"]
    );

    // The same answers again, collected into a map.
    server.reset().await;
    three_jobs_finish(&server).await;
    let all = jobs
        .wait_for_all(ids)
        .poll_interval(TICK)
        .timeout(Duration::from_secs(60))
        .await
        .unwrap();
    let keys: Vec<&JobId> = all.keys().collect();
    assert_eq!(
        keys,
        [&JobId::new("A"), &JobId::new("B"), &JobId::new("gone")]
    );
    assert!(all[&JobId::new("A")].as_ref().unwrap().is_success());
    assert!(matches!(
        all[&JobId::new("B")],
        Ok(JobOutcome::Stopped { ref reason, .. }) if reason == "User Terminated"
    ));
    assert!(
        all[&JobId::new("gone")]
            .as_ref()
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_blank_id_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let mut fleet = client(&server).jobs().watch_many(["A", " "]);
    let err = fleet.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "ids"),
        "{err:?}"
    );
    assert!(fleet.next().await.is_none());
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn no_ids_means_no_request() {
    let server = MockServer::start().await;
    let none: [&str; 0] = [];
    let events: Vec<_> = client(&server).jobs().watch_many(none).collect().await;
    assert!(events.is_empty());
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_status_the_crate_does_not_know_is_passed_on() {
    let server = MockServer::start().await;
    poll_answers(&server, vec![summary("A", "Warming Up")]).await;

    let mut fleet = client(&server).jobs().watch_many(["A"]).poll_interval(TICK);
    let first = fleet.try_next().await.unwrap().unwrap();
    assert!(
        matches!(first, FleetEvent::Status { ref status, .. } if *status == JobStatus::Other("Warming Up".into())),
        "{first:?}"
    );
}

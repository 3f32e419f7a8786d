//! Lists across pages: following `next`, putting back what a `next` drops, and the guards
//! that end a stream with an error instead of leaking the key or looping. Tests of the
//! links themselves read one page after another (`concurrency(1)`); the pages fetched by
//! number are tested in `concurrent_list.rs`.

mod common;

use common::*;
use futures::{StreamExt, TryStreamExt};
use rescale::jobs::{JobState, JobStatus, JobSummary};
use rescale::{Error, ItemStream, Page};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Serves `body` for `GET jobs/` with `page=<n>` (`None`: no `page` parameter).
async fn serve_page(server: &MockServer, page_no: Option<&str>, body: serde_json::Value) {
    let mock = Mock::given(method("GET")).and(path(api_path("jobs/")));
    let mock = match page_no {
        Some(n) => mock.and(query_param("page", n)),
        None => mock.and(query_param_is_missing("page")),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

fn ids(items: &[JobSummary]) -> Vec<String> {
    items.iter().map(|j| j.id.to_string()).collect()
}

/// Drains a stream, keeping the items and the error it ended with, and checks it ends.
async fn drain(mut stream: ItemStream<JobSummary>) -> (Vec<JobSummary>, Error) {
    let mut items = Vec::new();
    loop {
        match stream.next().await {
            Some(Ok(item)) => items.push(item),
            Some(Err(e)) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream went on after its error"
                );
                return (items, e);
            }
            None => panic!("the stream ended without an error after {}", items.len()),
        }
    }
}

#[tokio::test]
async fn stream_follows_next_across_three_pages() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(
            5,
            Some(api_url(&server, "jobs/?page=2&page_size=2")),
            summaries("a", 2),
        ),
    )
    .await;
    serve_page(
        &server,
        Some("2"),
        page(
            5,
            Some(api_url(&server, "jobs/?page=3&page_size=2")),
            summaries("b", 2),
        ),
    )
    .await;
    serve_page(&server, Some("3"), page(5, None, summaries("c", 1))).await;

    let all: Vec<JobSummary> = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(ids(&all), ["a0", "a1", "b0", "b1", "c0"]);
    let seen: Vec<_> = requests(&server).await.iter().map(query).collect();
    assert_eq!(
        seen,
        [
            pairs(&[("page_size", "2")]),
            pairs(&[("page", "2"), ("page_size", "2")]),
            pairs(&[("page", "3"), ("page_size", "2")]),
        ]
    );
    for req in requests(&server).await {
        assert_eq!(req.url.path(), api_path("jobs/"));
        assert_auth(&req);
    }
}

#[tokio::test]
async fn pages_yields_each_page_with_its_count() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(3, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2)),
    )
    .await;
    serve_page(&server, Some("2"), page(3, None, summaries("b", 1))).await;

    let pages: Vec<Page<JobSummary>> = client(&server)
        .jobs()
        .list()
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].count, Some(3));
    assert_eq!(ids(&pages[0].results), ["a0", "a1"]);
    assert_eq!(ids(&pages[1].results), ["b0"]);
}

#[tokio::test]
async fn page_size_and_filters_are_put_back_when_next_drops_them() {
    let server = MockServer::start().await;
    // Page 2's link drops everything; page 3's keeps the page size but drops the filters.
    serve_page(
        &server,
        None,
        page(5, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2)),
    )
    .await;
    serve_page(
        &server,
        Some("2"),
        page(
            5,
            Some(api_url(&server, "jobs/?page_size=2&page=3")),
            summaries("b", 2),
        ),
    )
    .await;
    serve_page(&server, Some("3"), page(5, None, summaries("c", 1))).await;

    let all: Vec<JobSummary> = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .state(JobState::Completed)
        .job_status(JobStatus::Executing)
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(all.len(), 5);
    let seen: Vec<_> = requests(&server).await.iter().map(query).collect();
    assert_eq!(
        seen,
        [
            pairs(&[
                ("page_size", "2"),
                ("state", "completed"),
                ("job_status", "EXECUTING")
            ]),
            pairs(&[
                ("page", "2"),
                ("page_size", "2"),
                ("state", "completed"),
                ("job_status", "EXECUTING")
            ]),
            pairs(&[
                ("page_size", "2"),
                ("page", "3"),
                ("state", "completed"),
                ("job_status", "EXECUTING")
            ]),
        ]
    );
}

#[tokio::test]
async fn a_next_link_with_its_own_page_size_keeps_it() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(
            3,
            Some(api_url(&server, "jobs/?page=2&page_size=7")),
            summaries("a", 2),
        ),
    )
    .await;
    serve_page(&server, Some("2"), page(3, None, summaries("b", 1))).await;

    let all: Vec<JobSummary> = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let second = &requests(&server).await[1];
    assert_eq!(query(second), pairs(&[("page", "2"), ("page_size", "7")]));
}

#[tokio::test]
async fn an_empty_page_that_still_has_next_is_passed() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(3, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2)),
    )
    .await;
    serve_page(
        &server,
        Some("2"),
        page(3, Some(api_url(&server, "jobs/?page=3")), json!([])),
    )
    .await;
    serve_page(&server, Some("3"), page(3, None, summaries("c", 1))).await;

    let all: Vec<JobSummary> = client(&server)
        .jobs()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&all), ["a0", "a1", "c0"]);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn next_to_another_origin_ends_with_an_error_and_sends_nothing_there() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(page(0, None, json!([]))))
        .expect(0)
        .mount(&elsewhere)
        .await;
    serve_page(
        &server,
        None,
        page(
            4,
            Some(api_url(&elsewhere, "jobs/?page=2")),
            summaries("a", 2),
        ),
    )
    .await;

    let stream = client(&server).jobs().list().stream();
    let (items, err) = drain(stream).await;

    assert_eq!(ids(&items), ["a0", "a1"]);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert!(err.to_string().contains("not following"), "{err}");
    assert_no_key(&err);
    assert!(requests(&elsewhere).await.is_empty());
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn next_to_the_same_host_on_another_port_is_another_origin() {
    let server = MockServer::start().await;
    // Same host, port 1: nothing listens there, and the key must not be offered to it.
    let other_port = format!("http://127.0.0.1:1{PREFIX}/jobs/?page=2");
    serve_page(&server, None, page(4, Some(other_port), summaries("a", 1))).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;
    assert_eq!(items.len(), 1);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
}

#[tokio::test]
async fn a_next_that_repeats_an_earlier_page_ends_with_an_error() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(6, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2)),
    )
    .await;
    serve_page(
        &server,
        Some("2"),
        page(6, Some(api_url(&server, "jobs/?page=3")), summaries("b", 2)),
    )
    .await;
    // Page 3 points back to page 2.
    serve_page(
        &server,
        Some("3"),
        page(6, Some(api_url(&server, "jobs/?page=2")), summaries("c", 2)),
    )
    .await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a0", "a1", "b0", "b1", "c0", "c1"]);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert!(err.to_string().contains("repeats"), "{err}");
    // Each page was fetched once (the mocks expect exactly one call each).
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_repeat_with_its_query_in_another_order_is_still_a_repeat() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        Some("2"),
        page(
            6,
            Some(api_url(&server, "jobs/?page=3&page_size=2")),
            summaries("b", 2),
        ),
    )
    .await;
    // Page 3 points back to page 2, its parameters in another order.
    serve_page(
        &server,
        Some("3"),
        page(
            6,
            Some(api_url(&server, "jobs/?page=2&page_size=2")),
            summaries("c", 2),
        ),
    )
    .await;
    serve_page(
        &server,
        None,
        page(
            6,
            Some(api_url(&server, "jobs/?page_size=2&page=2")),
            summaries("a", 2),
        ),
    )
    .await;

    let (items, err) = drain(client(&server).jobs().list().page_size(2).stream()).await;

    assert_eq!(ids(&items), ["a0", "a1", "b0", "b1", "c0", "c1"]);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_next_that_points_to_itself_ends_with_an_error() {
    let server = MockServer::start().await;
    serve_page(
        &server,
        Some("1"),
        page(6, Some(api_url(&server, "jobs/?page=1")), summaries("a", 2)),
    )
    .await;
    serve_page(
        &server,
        None,
        page(6, Some(api_url(&server, "jobs/?page=1")), summaries("z", 1)),
    )
    .await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;
    assert_eq!(ids(&items), ["z0", "a0", "a1"]);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
}

#[tokio::test]
async fn an_api_error_mid_stream_is_yielded_once_and_ends_the_stream() {
    let server = MockServer::start().await;
    // The first page, read again after the 404, still tells 6 items: page 2 should be
    // there, is read once more, and its second 404 is the error.
    let first = page(6, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2));
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("error_not_found.json")))
        .expect(2)
        .mount(&server)
        .await;

    let list = client(&server).jobs().list().concurrency(1);
    let (items, err) = drain(list.stream()).await;
    assert_eq!(items.len(), 2);
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn the_stream_sends_nothing_until_polled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(0, None, json!([]))))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_created.json")))
        .expect(1)
        .mount(&server)
        .await;

    let jobs = client(&server).jobs();
    let stream = jobs.list().page_size(5).stream();
    let pages = jobs.files("LeeKa").pages();
    // A whole round trip to the same server, so that anything sent early has arrived.
    jobs.get("LeeKa").await.unwrap();
    tokio::task::yield_now().await;
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url.path(), api_path("jobs/LeeKa/"));
    drop(stream);
    drop(pages);
}

#[tokio::test]
async fn the_stream_can_be_spawned() {
    fn owned_and_sendable<T: Send + 'static>(_: &T) {}

    let server = MockServer::start().await;
    serve_page(
        &server,
        None,
        page(3, Some(api_url(&server, "jobs/?page=2")), summaries("a", 2)),
    )
    .await;
    serve_page(&server, Some("2"), page(3, None, summaries("b", 1))).await;

    let stream = {
        // The client and handle are gone by the time the stream runs.
        let client = client(&server);
        client.jobs().list().stream()
    };
    owned_and_sendable(&stream);
    let all: Vec<JobSummary> = tokio::spawn(stream.try_collect()).await.unwrap().unwrap();
    assert_eq!(ids(&all), ["a0", "a1", "b0"]);
}

#[tokio::test]
async fn prev_alias_and_a_missing_next_key_are_accepted() {
    let server = MockServer::start().await;
    let body = json!({
        "count": 3,
        "prev": api_url(&server, "jobs/?page=1"),
        "results": summaries("b", 2)
    });
    serve_page(&server, Some("2"), body.clone()).await;
    serve_page(&server, None, body).await;

    let page = client(&server).jobs().list().page(2).await.unwrap();
    assert_eq!(page.previous, Some(api_url(&server, "jobs/?page=1")));
    assert_eq!(page.next, None);
    assert_eq!(ids(&page.results), ["b0", "b1"]);

    // As a stream, a page without a `next` key is the last one.
    let all: Vec<JobSummary> = client(&server)
        .jobs()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&all), ["b0", "b1"]);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn page_zero_and_page_size_zero_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(page(0, None, json!([]))))
        .expect(0)
        .mount(&server)
        .await;

    let jobs = client(&server).jobs();
    let err = jobs.list().page(0).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "page"),
        "{err:?}"
    );
    let err = jobs.list().page_size(0).page(1).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "page_size"),
        "{err:?}"
    );
    let (items, err) = drain(jobs.list().page_size(0).stream()).await;
    assert!(items.is_empty());
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "page_size"),
        "{err:?}"
    );
    assert!(requests(&server).await.is_empty());
}

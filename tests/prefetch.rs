//! Page prefetch: the list stream asks for the next page while the caller works through
//! the current one, no further ahead than told, and keeps the order of items and errors.
//! Pages are read one after another here (`concurrency(1)`), so that the depth shows.

mod common;

use std::time::Duration;

use common::{KEY, client, requests};
use futures::{StreamExt, TryStreamExt};
use rescale::{Client, Error};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn summary(id: &str) -> Value {
    json!({"id": id, "name": format!("job {id}"), "jobStatus": {"content": "Completed"}})
}

/// Page `n` of `last` (two jobs each), linking to the next with an absolute URL.
fn page(server: &MockServer, n: u32, last: u32) -> Value {
    let next =
        (n < last).then(|| format!("{}/api/v2/jobs/?page={}&page_size=2", server.uri(), n + 1));
    json!({
        "count": last * 2,
        "next": next,
        "previous": null,
        "results": [summary(&format!("p{n}a")), summary(&format!("p{n}b"))],
    })
}

/// Serves `last` pages of two jobs; the first is asked for without `page`.
async fn mount_pages(server: &MockServer, last: u32) {
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(server, 1, last)))
        .mount(server)
        .await;
    for n in 2..=last {
        Mock::given(method("GET"))
            .and(path("/api/v2/jobs/"))
            .and(query_param("page", n.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(server, n, last)))
            .expect(0..=1)
            .mount(server)
            .await;
    }
}

/// Polls until the server has seen `n` requests; gives up after a few seconds.
async fn wait_for_requests(server: &MockServer, n: usize) -> Vec<Request> {
    for _ in 0..500 {
        let seen = requests(server).await;
        if seen.len() >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    requests(server).await
}

/// Gives a prefetch task that should not run every chance to, then reports what was seen.
async fn settle(server: &MockServer) -> Vec<Request> {
    for _ in 0..20 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    requests(server).await
}

fn page_param(req: &Request) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn by_default_the_next_page_is_requested_before_the_caller_asks() {
    let server = MockServer::start().await;
    mount_pages(&server, 2).await;
    let mut jobs = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .stream();

    let first = jobs.try_next().await.unwrap().unwrap();
    assert_eq!(first.id.as_str(), "p1a");
    let seen = wait_for_requests(&server, 2).await;
    assert_eq!(seen.len(), 2, "page 2 was not prefetched");
    assert_eq!(page_param(&seen[0]), None);
    assert_eq!(page_param(&seen[1]).as_deref(), Some("2"));
    assert_eq!(
        seen[1].headers.get("authorization").unwrap(),
        format!("Token {KEY}").as_str()
    );

    let rest: Vec<String> = jobs
        .map_ok(|j| j.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, ["p1b", "p2a", "p2b"]);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn prefetch_zero_fetches_a_page_only_when_the_caller_reaches_it() {
    let server = MockServer::start().await;
    mount_pages(&server, 2).await;
    let mut jobs = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .prefetch(0)
        .stream();

    assert_eq!(jobs.try_next().await.unwrap().unwrap().id.as_str(), "p1a");
    assert_eq!(jobs.try_next().await.unwrap().unwrap().id.as_str(), "p1b");
    assert_eq!(settle(&server).await.len(), 1, "page 2 was fetched early");

    assert_eq!(jobs.try_next().await.unwrap().unwrap().id.as_str(), "p2a");
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(page_param(&seen[1]).as_deref(), Some("2"));
}

#[tokio::test]
async fn prefetch_goes_no_further_ahead_than_told() {
    let server = MockServer::start().await;
    mount_pages(&server, 6).await;
    let mut jobs = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .prefetch(2)
        .stream();

    assert_eq!(jobs.try_next().await.unwrap().unwrap().id.as_str(), "p1a");
    assert_eq!(wait_for_requests(&server, 3).await.len(), 3);
    let seen = settle(&server).await;
    let pages: Vec<Option<String>> = seen.iter().map(page_param).collect();
    assert_eq!(pages, [None, Some("2".into()), Some("3".into())]);

    // Taking page 2's first item frees a slot: page 4, and no more.
    jobs.try_next().await.unwrap().unwrap();
    assert_eq!(jobs.try_next().await.unwrap().unwrap().id.as_str(), "p2a");
    assert_eq!(wait_for_requests(&server, 4).await.len(), 4);
    assert_eq!(settle(&server).await.len(), 4);

    let ids: Vec<String> = jobs
        .map_ok(|j| j.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), 9);
    assert_eq!(ids.last().map(String::as_str), Some("p6b"));
    assert_eq!(requests(&server).await.len(), 6);
}

#[tokio::test]
async fn nothing_is_sent_until_the_stream_is_polled() {
    let server = MockServer::start().await;
    mount_pages(&server, 2).await;
    let jobs = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .prefetch(3)
        .stream();
    assert!(settle(&server).await.is_empty());
    drop(jobs);
    assert!(settle(&server).await.is_empty());
}

#[tokio::test]
async fn an_error_from_a_prefetched_page_comes_after_the_items_before_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&server, 1, 3)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"detail": "No access to page 2."})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let results: Vec<rescale::Result<rescale::jobs::JobSummary>> = client(&server)
        .jobs()
        .list()
        .page_size(2)
        .concurrency(1)
        .prefetch(4)
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().id.as_str(), "p1a");
    assert_eq!(results[1].as_ref().unwrap().id.as_str(), "p1b");
    let err = results[2].as_ref().unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(err.to_string().contains("No access to page 2."), "{err}");
}

#[tokio::test]
async fn prefetched_links_keep_their_guards() {
    // Page 1 links to page 2 without page_size; page 2 links back to page 2.
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 4, "next": format!("{uri}/api/v2/jobs/?page=2&state=completed"),
            "results": [summary("a")],
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 4, "next": format!("{uri}/api/v2/jobs/?page=2&state=completed"),
            "results": [summary("b")],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let results: Vec<_> = client(&server)
        .jobs()
        .list()
        .page_size(1)
        .concurrency(1)
        .state(rescale::jobs::JobState::Completed)
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(matches!(results[2], Err(Error::Pagination(ref m)) if m.contains("repeats")));
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].url.query(),
        Some("page=2&state=completed&page_size=1")
    );

    // A link to another origin is refused before anything is sent there.
    let other = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "next": format!("{}/api/v2/jobs/?page=2", other.uri()),
            "results": [summary("a")],
        })))
        .expect(1)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server)
        .jobs()
        .list()
        .prefetch(3)
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(matches!(results[1], Err(Error::Pagination(_))));
    assert!(requests(&other).await.is_empty());
}

#[test]
fn the_stream_is_send_and_static() {
    fn assert_send_static<S: Send + 'static>(_: &S) {}
    let client = Client::builder().token("k").build().unwrap();
    assert_send_static(&client.jobs().list().prefetch(2).stream());
}

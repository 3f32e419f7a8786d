//! Lists read near the round-trip bound: 1000 items per page unless told, the pages after
//! the first fetched by number at once, yielded in order, each item once (however many jobs
//! are created meanwhile), and the guards of the sequential stream still holding.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use rescale::jobs::{JobStatusEntry, JobSummary};
use rescale::{Error, ItemStream};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// `GET <rest>` (relative to the API path) for page `number` (`None`: the request
/// without `page`).
fn list_page(rest: &str, number: Option<&str>) -> MockBuilder {
    let mock = Mock::given(method("GET")).and(path(api_path(rest)));
    match number {
        Some(n) => mock.and(query_param("page", n)),
        None => mock.and(query_param_is_missing("page")),
    }
}

/// Serves `GET jobs/` page `number` once.
async fn serve(server: &MockServer, number: Option<&str>, response: ResponseTemplate) {
    list_page("jobs/", number)
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// Serves `GET jobs/` page `number` as often as it is asked for: a page read at once that
/// may be dropped before its request is sent, and read again.
async fn serve_any(server: &MockServer, number: &str, response: ResponseTemplate) {
    list_page("jobs/", Some(number))
        .respond_with(response)
        .mount(server)
        .await;
}

/// The arrival index of the last request for page `number`, and of the first for page
/// `before`.
async fn last_and_first(server: &MockServer, number: &str, before: &str) -> (usize, usize) {
    let asked = pages_requested(server).await;
    let at = |n: &str| -> Vec<usize> {
        (0..asked.len())
            .filter(|&i| asked[i].as_deref() == Some(n))
            .collect()
    };
    let last = *at(number).last().expect("asked for");
    let first = at(before)[0];
    (last, first)
}

/// Serves `GET jobs/` page `number` once with each of `responses`, in turn.
async fn serve_in_turn(
    server: &MockServer,
    number: Option<&str>,
    responses: Vec<ResponseTemplate>,
) {
    for (turn, response) in responses.into_iter().enumerate() {
        list_page("jobs/", number)
            .respond_with(response)
            .up_to_n_times(1)
            .expect(1)
            .with_priority(turn as u8 + 1)
            .mount(server)
            .await;
    }
}

/// A page of `count` items holding `ids`, whose `next` is `next`.
fn page_of(count: u64, next: Option<String>, ids: &[&str]) -> ResponseTemplate {
    let results: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "name": format!("job {id}"), "jobStatus": {"content": "Executing"}}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "count": count, "next": next, "previous": null, "results": results
    }))
}

/// Every job of the list, with the default settings.
async fn list_all(server: &MockServer) -> Vec<JobSummary> {
    let list = client(server).jobs().list();
    list.stream().try_collect().await.expect("the whole list")
}

fn ids(items: &[JobSummary]) -> Vec<String> {
    items.iter().map(|j| j.id.to_string()).collect()
}

/// The `page` of every `GET jobs/` the server saw, in arrival order (`None`: no `page`).
async fn pages_requested(server: &MockServer) -> Vec<Option<String>> {
    requests(server)
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// Drains a stream, keeping the items and the error it ended with, and checks it ends.
async fn drain(mut stream: ItemStream<JobSummary>) -> (Vec<JobSummary>, Option<Error>) {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream went on after its error"
                );
                return (items, Some(e));
            }
        }
    }
    (items, None)
}

#[tokio::test]
async fn a_stream_asks_for_1000_per_page_and_fetches_the_rest_by_number() {
    let server = MockServer::start().await;
    // The service honours 2 per page here; the count says there are 3 pages.
    let next = api_url(&server, "jobs/?page=2&page_size=2");
    serve(&server, None, page_of(5, Some(next), &["a", "b"])).await;
    serve(
        &server,
        Some("2"),
        page_of(5, Some(api_url(&server, "jobs/?page=3")), &["c", "d"]),
    )
    .await;
    serve(&server, Some("3"), page_of(5, None, &["e"])).await;

    let all = list_all(&server).await;

    assert_eq!(ids(&all), ["a", "b", "c", "d", "e"]);
    let mut seen: Vec<_> = requests(&server).await.iter().map(query).collect();
    assert_eq!(seen.remove(0), pairs(&[("page_size", "1000")]));
    seen.sort();
    assert_eq!(
        seen,
        [
            pairs(&[("page_size", "1000"), ("page", "2")]),
            pairs(&[("page_size", "1000"), ("page", "3")]),
        ]
    );
}

#[tokio::test]
async fn a_page_size_set_by_the_caller_and_filters_go_on_every_numbered_page() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2");
    serve(&server, None, page_of(3, Some(next), &["a", "b"])).await;
    serve(&server, Some("2"), page_of(3, None, &["c"])).await;

    let jobs = client(&server).jobs();
    let list = jobs
        .list()
        .state(rescale::jobs::JobState::NotCompleted)
        .page_size(2);
    let all: Vec<JobSummary> = list.stream().try_collect().await.unwrap();

    assert_eq!(ids(&all), ["a", "b", "c"]);
    let seen: Vec<_> = requests(&server).await.iter().map(query).collect();
    assert_eq!(
        seen,
        [
            pairs(&[("state", "not_completed"), ("page_size", "2")]),
            pairs(&[
                ("state", "not_completed"),
                ("page_size", "2"),
                ("page", "2")
            ]),
        ]
    );
}

#[tokio::test]
async fn pages_come_out_in_order_even_when_a_later_one_answers_first() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(4, Some(next), &["a"])).await;
    // Page 2 is slow; pages 3 and 4 answer at once. The order must not depend on it.
    let link = |n: u32| Some(api_url(&server, &format!("jobs/?page={n}&page_size=1000")));
    let slow = page_of(4, link(3), &["b"]).set_delay(Duration::from_millis(200));
    serve(&server, Some("2"), slow).await;
    serve(&server, Some("3"), page_of(4, link(4), &["c"])).await;
    serve(&server, Some("4"), page_of(4, None, &["d"])).await;

    let jobs = client(&server).jobs();
    let all: Vec<JobSummary> = jobs
        .list()
        .concurrency(3)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(ids(&all), ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn an_item_that_shifted_to_the_next_page_comes_out_once() {
    let server = MockServer::start().await;
    // A job was created after page 1 was read: every job moved one place down, so page 2
    // begins with the last job of page 1, and page 3 with the last of page 2.
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(6, Some(next), &["a", "b"])).await;
    let third = api_url(&server, "jobs/?page=3&page_size=1000");
    serve(&server, Some("2"), page_of(7, Some(third), &["b", "c"])).await;
    let last = page_of(
        7,
        Some(api_url(&server, "jobs/?page=4&page_size=1000")),
        &["c", "d"],
    );
    serve_any(&server, "3", last).await;
    // The list grew past its last page: the `next` link is followed.
    serve(&server, Some("4"), page_of(7, None, &["e"])).await;

    let all = list_all(&server).await;

    assert_eq!(ids(&all), ["a", "b", "c", "d", "e"]);
    // Page 2's repeat told that jobs were created during the read: page 3, on its way
    // (or answered) already, was read again after page 2.
    let (third, second) = last_and_first(&server, "3", "2").await;
    assert!(third > second, "{:?}", pages_requested(&server).await);
}

#[tokio::test]
async fn deletions_between_pages_cost_no_request_more() {
    let server = MockServer::start().await;
    // Jobs were deleted between the pages: page 3 tells a smaller count. No item repeats,
    // so nothing was created that could have pushed one across: each page is read once
    // (what a deletion pulled onto a page already read is missed, as in any read).
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(6, Some(next), &["a", "b"])).await;
    let third = api_url(&server, "jobs/?page=3&page_size=1000");
    serve(&server, Some("2"), page_of(6, Some(third), &["c", "d"])).await;
    serve(&server, Some("3"), page_of(5, None, &["f"])).await;

    let all = list_all(&server).await;

    assert_eq!(ids(&all), ["a", "b", "c", "d", "f"]);
    assert_eq!(pages_requested(&server).await.len(), 3);
}

#[tokio::test]
async fn a_long_list_remembers_only_the_last_pages_ids() {
    let server = MockServer::start().await;
    // Page 13 holds an id of page 1 again (a service never does this, but a list with
    // more pages than the stream remembers shows that memory does not grow with it):
    // with 10 pages at once, the last 11 pages' ids are remembered, so page 13's `a`
    // comes out again, while page 2's repeat of page 1's `b` is taken out.
    let page_url = |n: u64| api_url(&server, &format!("jobs/?page={n}&page_size=1000"));
    serve(&server, None, page_of(26, Some(page_url(2)), &["a", "b"])).await;
    serve(
        &server,
        Some("2"),
        page_of(26, Some(page_url(3)), &["b", "c"]),
    )
    .await;
    for n in 3..=13u64 {
        let (one, two) = if n == 13 {
            ("a".to_owned(), "z".to_owned())
        } else {
            (format!("p{n}x"), format!("p{n}y"))
        };
        let next = (n < 13).then(|| page_url(n + 1));
        // Page 2's repeat sends the rest one page after another: pages on their way may
        // be asked for twice.
        serve_any(&server, &n.to_string(), page_of(26, next, &[&one, &two])).await;
    }

    let all = list_all(&server).await;

    let all = ids(&all);
    assert_eq!(all.len(), 2 + 1 + 2 * 10 + 2);
    assert_eq!(&all[..3], ["a", "b", "c"]);
    assert_eq!(&all[all.len() - 2..], ["a", "z"]);
}

#[tokio::test]
async fn a_slow_read_while_many_jobs_are_created_still_yields_each_job_once() {
    let server = MockServer::start().await;
    // Read one page after another, two jobs a page: [a b | c d]. Six jobs are created
    // after page 1, so a and b come round again three pages later: the stream remembers
    // as many pages as the growth of `count` can have pushed a job across.
    let page_url = |n: u64| api_url(&server, &format!("jobs/?page={n}&page_size=2"));
    serve(&server, None, page_of(4, Some(page_url(2)), &["a", "b"])).await;
    serve(
        &server,
        Some("2"),
        page_of(10, Some(page_url(3)), &["n3", "n4"]),
    )
    .await;
    serve(
        &server,
        Some("3"),
        page_of(10, Some(page_url(4)), &["n5", "n6"]),
    )
    .await;
    serve(
        &server,
        Some("4"),
        page_of(10, Some(page_url(5)), &["a", "b"]),
    )
    .await;
    serve(&server, Some("5"), page_of(10, None, &["c", "d"])).await;

    let list = client(&server).jobs().list().page_size(2).concurrency(1);
    let all: Vec<JobSummary> = list.stream().try_collect().await.unwrap();

    assert_eq!(ids(&all), ["a", "b", "n3", "n4", "n5", "n6", "c", "d"]);
}

#[tokio::test]
async fn a_concurrency_of_usize_max_is_read_like_any_other() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(3, Some(next), &["a", "b"])).await;
    serve(&server, Some("2"), page_of(3, None, &["c"])).await;

    let list = client(&server).jobs().list().concurrency(usize::MAX);
    let all: Vec<JobSummary> = list.stream().try_collect().await.unwrap();

    assert_eq!(ids(&all), ["a", "b", "c"]);
}

#[tokio::test]
async fn an_error_on_a_numbered_page_comes_after_the_items_before_it_and_ends_the_stream() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(5, Some(next), &["a", "b"])).await;
    let refused = ResponseTemplate::new(403).set_body_json(json!({"detail": "No access."}));
    serve(&server, Some("2"), refused).await;
    // Page 3 may or may not have been asked for; its items must not come out.
    serve_any(&server, "3", page_of(5, None, &["e"])).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b"]);
    let err = err.expect("the stream ends with the error");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(err.to_string().contains("No access."), "{err}");
}

#[tokio::test]
async fn a_numbered_page_past_the_end_means_the_list_shrank_and_ends_it() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    // Page 2 was read before a job was deleted, page 3 after: it is past the end now, as
    // the first page, read again, tells.
    let first_again = page_of(4, Some(next.clone()), &["a", "b"]);
    serve_in_turn(
        &server,
        None,
        vec![page_of(5, Some(next), &["a", "b"]), first_again],
    )
    .await;
    let third = api_url(&server, "jobs/?page=3&page_size=1000");
    serve(&server, Some("2"), page_of(5, Some(third), &["c", "d"])).await;
    let gone = ResponseTemplate::new(404).set_body_json(json!({"detail": "Invalid page."}));
    serve(&server, Some("3"), gone).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b", "c", "d"]);
    assert!(err.is_none(), "{err:?}");
}

#[tokio::test]
async fn a_404_for_a_page_a_next_link_names_ends_a_list_that_shrank_at_any_concurrency() {
    // 4 items (2 pages) when page 1 was read; 5 when page 2 was (it links to page 3);
    // 4 again when page 3 was: past the end, as the first page, read again, tells.
    for concurrency in [1, 10] {
        let server = MockServer::start().await;
        let link = |n: u32| Some(api_url(&server, &format!("jobs/?page={n}&page_size=2")));
        serve_in_turn(
            &server,
            None,
            vec![
                page_of(4, link(2), &["a", "b"]),
                page_of(4, link(2), &["a", "b"]),
            ],
        )
        .await;
        serve(&server, Some("2"), page_of(5, link(3), &["c", "d"])).await;
        let gone = ResponseTemplate::new(404).set_body_json(json!({"detail": "Invalid page."}));
        serve(&server, Some("3"), gone).await;

        let list = client(&server).jobs().list().page_size(2);
        let (items, err) = drain(list.concurrency(concurrency).stream()).await;

        assert!(err.is_none(), "concurrency {concurrency}: {err:?}");
        assert_eq!(
            ids(&items),
            ["a", "b", "c", "d"],
            "concurrency {concurrency}"
        );
        assert_eq!(
            pages_requested(&server).await,
            [None, Some("2".into()), Some("3".into()), None],
            "concurrency {concurrency}"
        );
    }
}

/// Page `n` of `jobs/`, 2 a page, as a `next` link.
fn link(server: &MockServer, n: u32) -> Option<String> {
    Some(api_url(server, &format!("jobs/?page={n}&page_size=2")))
}

/// Reads `jobs/` 2 a page at concurrency 1 and 10, each time from a server `mount` sets
/// up, and checks that it yields `expected` and ends without an error.
async fn read_at_any_concurrency(mount: impl AsyncFn(&MockServer), expected: &[&str]) {
    for concurrency in [1, 10] {
        let server = MockServer::start().await;
        mount(&server).await;

        let list = client(&server).jobs().list().page_size(2);
        let (items, err) = drain(list.concurrency(concurrency).stream()).await;

        assert!(err.is_none(), "concurrency {concurrency}: {err:?}");
        assert_eq!(ids(&items), expected, "concurrency {concurrency}");
    }
}

#[tokio::test]
async fn a_last_page_cut_short_by_a_creation_is_read_past_at_any_concurrency() {
    // [a b c d], 2 a page. Page 1 is read; page 2 is counted at 4, then N is created
    // ([N a b c d]) and page 2 read up to that count: [b c], linking nowhere. b repeats:
    // the page after it is read by number, and d, there all along, is not lost.
    let mount = async |server: &MockServer| {
        serve(server, None, page_of(4, link(server, 2), &["a", "b"])).await;
        serve(server, Some("2"), page_of(4, None, &["b", "c"])).await;
        serve(server, Some("3"), page_of(5, None, &["d"])).await;
    };
    read_at_any_concurrency(mount, &["a", "b", "c", "d"]).await;
}

#[tokio::test]
async fn a_cut_last_page_reached_through_next_links_is_read_past_too() {
    // [a b c d], 2 a page. Page 1 is read (count 4); N1 is created: page 2 is [b c] under
    // 5, linking to page 3 (past the pages read by number, the read follows links). Page
    // 3 is counted at 5, then N2 is created: [c], linking nowhere. Page 4 holds d.
    let mount = async |server: &MockServer| {
        serve(server, None, page_of(4, link(server, 2), &["a", "b"])).await;
        serve_any(server, "2", page_of(5, link(server, 3), &["b", "c"])).await;
        serve(server, Some("3"), page_of(5, None, &["c"])).await;
        serve(server, Some("4"), page_of(6, None, &["d"])).await;
    };
    read_at_any_concurrency(mount, &["a", "b", "c", "d"]).await;
}

#[tokio::test]
async fn a_service_that_answers_any_page_past_the_end_with_the_last_ends_the_read() {
    // Page 2 is cut short (b repeated, linking nowhere), and every later number answers
    // page 2 again: nothing new, so the read ends there.
    let mount = async |server: &MockServer| {
        serve(server, None, page_of(4, link(server, 2), &["a", "b"])).await;
        serve(server, Some("2"), page_of(4, None, &["b", "c"])).await;
        serve(server, Some("3"), page_of(4, None, &["b", "c"])).await;
    };
    read_at_any_concurrency(mount, &["a", "b", "c"]).await;
}

#[tokio::test]
async fn past_a_cut_page_a_404_ends_a_list_that_did_not_grow() {
    // As above, but d was deleted as N was created: page 3 is past the end, as the first
    // page, read again, tells.
    let mount = async |server: &MockServer| {
        let first = |ids: &[&str]| page_of(4, link(server, 2), ids);
        serve_in_turn(server, None, vec![first(&["a", "b"]), first(&["N", "a"])]).await;
        serve(server, Some("2"), page_of(4, None, &["b", "c"])).await;
        let gone = ResponseTemplate::new(404).set_body_json(json!({"detail": "Invalid page."}));
        serve(server, Some("3"), gone).await;
    };
    read_at_any_concurrency(mount, &["a", "b", "c"]).await;
}

#[tokio::test]
async fn a_404_for_a_page_the_list_still_has_twice_is_an_error_not_its_end() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    // The first page, read again, still tells 6 items: page 2 should be there, and is
    // read once more; a second 404 ends the stream with it.
    let first = || page_of(6, Some(next.clone()), &["a", "b"]);
    serve_in_turn(&server, None, vec![first(), first()]).await;
    let not_found = || ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}));
    serve_in_turn(&server, Some("2"), vec![not_found(), not_found()]).await;
    // Page 3 may or may not be asked for before the stream ends: no answer is expected.
    serve_any(&server, "3", page_of(6, None, &["e", "f"])).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b"]);
    let err = err.expect("the 404 ends the stream as an error");
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("GET jobs/"), "{err}");
}

#[tokio::test]
async fn a_list_that_shrank_and_grew_back_is_read_on_after_a_404() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    // Page 2 was asked for while the list had one page; read again, the first page tells
    // 4 items: page 2 is there again, and is read once more.
    let first = |count| page_of(count, Some(next.clone()), &["a", "b"]);
    serve_in_turn(&server, None, vec![first(4), first(4)]).await;
    let not_found = ResponseTemplate::new(404).set_body_json(json!({"detail": "Invalid page."}));
    serve_in_turn(
        &server,
        Some("2"),
        vec![not_found, page_of(4, None, &["c", "d"])],
    )
    .await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(ids(&items), ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn a_list_that_is_gone_mid_read_ends_with_its_404() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    // The list itself is gone by the time page 2 is read (a job's files, the job deleted).
    let not_found = || ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}));
    serve_in_turn(
        &server,
        None,
        vec![page_of(4, Some(next), &["a", "b"]), not_found()],
    )
    .await;
    serve(&server, Some("2"), not_found()).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b"]);
    assert!(err.expect("an error").is_not_found());
}

#[tokio::test]
async fn a_service_that_ignores_the_page_number_is_an_error_not_a_short_list() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .respond_with(page_of(4, Some(next), &["a", "b"]))
        .mount(&server)
        .await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b"]);
    let err = err.expect("an error");
    assert!(
        matches!(&err, Error::Pagination(m) if m.contains("page 2")),
        "{err}"
    );
}

#[tokio::test]
async fn a_page_that_links_back_is_not_taken_for_page_1_repeated() {
    // [a b c], 1 a page. After page 1, N is created and c deleted: the count stays 3, and
    // page 2 holds `a` again, as page 1 did. It links back to page 1: it is page 2, and
    // the read goes on to `b`.
    let server = MockServer::start().await;
    let link = |n: u32| api_url(&server, &format!("jobs/?page={n}&page_size=1"));
    let with_previous = |next: Option<String>, previous: String, id: &str| {
        ResponseTemplate::new(200).set_body_json(json!({
            "count": 3, "next": next, "previous": previous,
            "results": [{"id": id, "name": "job", "jobStatus": {"content": "Executing"}}]
        }))
    };
    serve(&server, None, page_of(3, Some(link(2)), &["a"])).await;
    serve_any(&server, "2", with_previous(Some(link(3)), link(1), "a")).await;
    serve_any(&server, "3", with_previous(None, link(2), "b")).await;

    let (items, err) = drain(client(&server).jobs().list().page_size(1).stream()).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(ids(&items), ["a", "b"]);
}

#[tokio::test]
async fn the_first_pages_next_link_keeps_its_guard() {
    let server = MockServer::start().await;
    let elsewhere = "http://127.0.0.2:9/api/v2/jobs/?page=2";
    serve(
        &server,
        None,
        page_of(4, Some(elsewhere.into()), &["a", "b"]),
    )
    .await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b"]);
    assert!(matches!(err, Some(Error::Pagination(_))), "{err:?}");
    assert_eq!(
        requests(&server).await.len(),
        1,
        "no numbered page was asked for"
    );
}

#[tokio::test]
async fn the_last_pages_next_link_keeps_its_guard() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, None, page_of(3, Some(next), &["a", "b"])).await;
    // The list grew, and the link past the last page points back to page 2.
    let back = api_url(&server, "jobs/?page=2&page_size=1000");
    serve(&server, Some("2"), page_of(4, Some(back), &["c"])).await;

    let (items, err) = drain(client(&server).jobs().list().stream()).await;

    assert_eq!(ids(&items), ["a", "b", "c"]);
    assert!(
        matches!(&err, Some(Error::Pagination(m)) if m.contains("repeats")),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn concurrency_one_follows_the_next_links() {
    let server = MockServer::start().await;
    let next = api_url(&server, "jobs/?page=2&page_size=1000&mark=link");
    serve(&server, None, page_of(3, Some(next), &["a", "b"])).await;
    serve(&server, Some("2"), page_of(3, None, &["c"])).await;

    let jobs = client(&server).jobs();
    let all: Vec<JobSummary> = jobs
        .list()
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(ids(&all), ["a", "b", "c"]);
    let second = &requests(&server).await[1];
    assert!(
        query(second).contains(&("mark".into(), "link".into())),
        "the link was followed"
    );
}

#[tokio::test]
async fn a_list_without_ids_follows_the_next_links() {
    let server = MockServer::start().await;
    let entry = json!({"status": "Executing", "statusDate": null, "statusReason": null});
    let link = api_url(&server, "jobs/J1/statuses/?page=2&mark=link");
    Mock::given(method("GET"))
        .and(path(api_path("jobs/J1/statuses/")))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 2, "next": link, "previous": null, "results": [entry.clone()]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/J1/statuses/")))
        .and(query_param("mark", "link"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"count": 2, "next": null, "previous": null, "results": [entry]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;

    let history: Vec<JobStatusEntry> = client(&server)
        .jobs()
        .statuses("J1")
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(history.len(), 2, "entries without ids are never merged");
    let first = &requests(&server).await[0];
    assert_eq!(query(first), pairs(&[("page_size", "1000")]));
}

#[tokio::test]
async fn one_page_alone_takes_one_request() {
    let server = MockServer::start().await;
    serve(&server, None, page_of(2, None, &["a", "b"])).await;

    let all = list_all(&server).await;

    assert_eq!(ids(&all), ["a", "b"]);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn the_file_library_is_read_by_page_number_too_and_yields_each_file_once() {
    let server = MockServer::start().await;
    let file = |id: &str| file_object(id, &format!("{id}.inp"), b"x");
    let page = |count: u64, next: Option<String>, ids: &[&str]| {
        let results: Vec<Value> = ids.iter().map(|id| file(id)).collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "count": count, "next": next, "previous": null, "results": results
        }))
    };
    let serve_files = |number: Option<&'static str>, response: ResponseTemplate| {
        list_page("files/", number)
            .respond_with(response)
            .expect(1)
            .mount_as_scoped(&server)
    };
    let next = api_url(&server, "files/?page=2&page_size=2");
    let _first = serve_files(None, page(5, Some(next), &["F1", "F2"])).await;
    // A file uploaded after page 1 was read moved F2 onto page 2.
    let third = api_url(&server, "files/?page=3&page_size=2");
    let _second = serve_files(Some("2"), page(6, Some(third), &["F2", "F3"])).await;
    // F2's repeat sends page 3 again, after page 2 (its first request may or may not have
    // been sent).
    list_page("files/", Some("3"))
        .respond_with(page(6, None, &["F4", "F5"]))
        .mount(&server)
        .await;

    let files: Vec<_> = client(&server)
        .files()
        .list()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();

    let got: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(got, ["F1", "F2", "F3", "F4", "F5"]);
    let (third, second) = last_and_first(&server, "3", "2").await;
    assert!(third > second, "{:?}", pages_requested(&server).await);
}

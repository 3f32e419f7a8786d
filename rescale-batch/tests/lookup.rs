//! Looking up a create whose answer was lost, on a list that changes while it is read: a
//! job is created again only when a listing that cannot have missed it says it is absent
//! (one page, or two listings in a row that agree).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rescale_batch::{Batch, Event, Step};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `POST jobs/`: the first create is stored but its answer is lost (a 504 from a proxy);
/// the name it carried (with the batch's mark) is kept for the list to show.
struct Creates {
    count: Arc<AtomicUsize>,
    name: Arc<Mutex<String>>,
}

impl Respond for Creates {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        *self.name.lock().unwrap() = body["name"].as_str().unwrap().to_owned();
        match self.count.fetch_add(1, Ordering::SeqCst) {
            0 => ResponseTemplate::new(504),
            _ => ResponseTemplate::new(201).set_body_json(json!({"id": "Dup", "name": "dup"})),
        }
    }
}

/// One page of the job list, newest first, as the `n`th read of it finds it.
struct ListPage {
    reads: AtomicUsize,
    answer: fn(usize, &str, &str) -> Value,
    name: Arc<Mutex<String>>,
    next: String,
}

impl Respond for ListPage {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        let name = self.name.lock().unwrap().clone();
        ResponseTemplate::new(200).set_body_json((self.answer)(n, &name, &self.next))
    }
}

fn summary(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "jobStatus": {"content": "Executing"}})
}

fn page(count: u64, next: Option<&str>, results: Vec<Value>) -> Value {
    json!({"count": count, "next": next, "previous": null, "results": results})
}

/// A server where the first create's answer is lost, and the job list's two pages are
/// answered by `first` and `second`; the creates are counted.
async fn server(
    first: fn(usize, &str, &str) -> Value,
    second: fn(usize, &str, &str) -> Value,
) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let creates = Arc::new(AtomicUsize::new(0));
    let name = Arc::new(Mutex::new(String::new()));
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/"))
        .respond_with(Creates {
            count: creates.clone(),
            name: name.clone(),
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/J/submit/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let next = format!("{}/api/v2/jobs/?page=2&page_size=1000", server.uri());
    for (page, answer) in [("1", first), ("2", second)] {
        let respond = ListPage {
            reads: AtomicUsize::new(0),
            answer,
            name: name.clone(),
            next: next.clone(),
        };
        Mock::given(method("GET"))
            .and(path("/api/v2/jobs/"))
            .and(query_param("page", page))
            .respond_with(respond)
            .mount(&server)
            .await;
    }
    (server, creates)
}

/// One run of a batch of one item against [`server`]`(first, second)`, with a ledger of
/// its own.
struct Lookup {
    server: MockServer,
    creates: Arc<AtomicUsize>,
    summary: rescale_batch::Summary,
    events: Vec<Event>,
}

async fn lookup(
    first: fn(usize, &str, &str) -> Value,
    second: fn(usize, &str, &str) -> Value,
) -> Lookup {
    let (server, creates) = server(first, second).await;
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let summary = Batch::new(
        common::client(&format!("{}/api/v2/", server.uri()), "key"),
        dir.path().join("b.ledger"),
    )
    .reconcile_after(Duration::ZERO)
    .on_event(move |e| seen.lock().unwrap().push(e.clone()))
    .run([rescale_batch::BatchItem::new("point-1", common::job(1))])
    .await
    .unwrap();
    let events = events.lock().unwrap().clone();
    Lookup {
        server,
        creates,
        summary,
        events,
    }
}

/// How many listings the server saw: requests for the first page.
async fn listings(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.method.as_str() == "GET" && r.url.query_pairs().any(|(k, v)| k == "page" && v == "1")
        })
        .count()
}

// The first listing: page 1 is read from [N1 N2 | J O1]; then N1, newer than J, is deleted
// ([N2 J | O1]) and page 2 tells the smaller count. J was there throughout, on neither
// page read. The listing after it holds still and finds J on page 1.
fn shrinking_then_still_first(n: usize, name: &str, next: &str) -> Value {
    match n {
        0 => page(
            4,
            Some(next),
            vec![summary("N1", "other"), summary("N2", "other")],
        ),
        _ => page(
            3,
            Some(next),
            vec![summary("N2", "other"), summary("J", name)],
        ),
    }
}

fn shrunk_second(_: usize, _: &str, _: &str) -> Value {
    page(3, None, vec![summary("O1", "other")])
}

#[tokio::test]
async fn a_listing_during_which_jobs_were_deleted_is_read_again_before_anything_is_created() {
    let Lookup {
        server,
        creates,
        summary,
        events,
    } = lookup(shrinking_then_still_first, shrunk_second).await;
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Reconciled {
            step: Step::Create,
            happened: true,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Submitted { job_id, .. } if job_id == "J"
    )));
    // Two listings: the one that shrank, and the one that found J on its first page.
    assert_eq!(listings(&server).await, 2);
}

// Every listing sees another list: a job is created and another deleted before each
// read of page 2, so no two listings agree.
fn ever_changing_first(n: usize, _: &str, next: &str) -> Value {
    let newest = format!("N{n}");
    page(
        4,
        Some(next),
        vec![summary(&newest, "other"), summary("N", "other")],
    )
}

#[tokio::test]
async fn a_list_that_never_holds_still_leaves_the_item_for_the_next_run_and_says_why() {
    let Lookup {
        creates, summary, ..
    } = lookup(ever_changing_first, shrunk_second).await;
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
    assert!(!summary.is_complete());
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    let (key, error) = &summary.failed[0];
    assert_eq!(key, "point-1");
    assert!(error.contains("4 listings"), "{error}");
}

// The service counts a page and reads its jobs at two moments. Page 1 of the first
// listing is counted on [N1 J | O1 O2], then X is created and the page read: [X N1] under
// count 4. N1 is deleted, [X J | O1 O2], and page 2 reads [O1 O2] under count 4. No count
// fell, and J is on neither page: only a second listing finds it.
fn skewed_first(n: usize, name: &str, next: &str) -> Value {
    match n {
        0 => page(
            4,
            Some(next),
            vec![summary("X", "other"), summary("N1", "other")],
        ),
        _ => page(
            4,
            Some(next),
            vec![summary("X", "other"), summary("J", name)],
        ),
    }
}

fn steady_second(_: usize, _: &str, _: &str) -> Value {
    page(
        4,
        None,
        vec![summary("O1", "other"), summary("O2", "other")],
    )
}

#[tokio::test]
async fn a_job_hidden_by_a_creation_and_a_deletion_under_an_unchanged_count_is_found() {
    let Lookup {
        creates, summary, ..
    } = lookup(skewed_first, steady_second).await;
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
}

// A list that holds still over several pages is read twice, and the job created again.
fn still_first(_: usize, _: &str, next: &str) -> Value {
    page(
        4,
        Some(next),
        vec![summary("X", "other"), summary("N1", "other")],
    )
}

#[tokio::test]
async fn two_listings_that_agree_tell_the_job_is_absent() {
    let Lookup {
        server,
        creates,
        events,
        ..
    } = lookup(still_first, steady_second).await;
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Reconciled {
            step: Step::Create,
            happened: false,
            ..
        }
    )));
    assert_eq!(creates.load(Ordering::SeqCst), 2);
    assert_eq!(listings(&server).await, 2);
}

// The service counts the list, then reads the page: a job created in between pushed J,
// the 1001st, past a full first page whose `next` (from the count) is null. Page 2 is
// read all the same, and holds J.
fn full_first(_: usize, _: &str, _: &str) -> Value {
    let mut jobs = vec![summary("X", "other")];
    jobs.extend((1..1000).map(|i| summary(&format!("O{i}"), "other")));
    page(1000, None, jobs)
}

fn j_second(_: usize, name: &str, _: &str) -> Value {
    page(1001, None, vec![summary("J", name)])
}

#[tokio::test]
async fn a_full_first_page_that_links_nowhere_is_followed_by_page_2() {
    let Lookup {
        creates, summary, ..
    } = lookup(full_first, j_second).await;
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
}

// A service that ignores the page number answers page 2 as page 1: the lookup ends with an
// error after two pages rather than reading forever, and nothing is created again.
fn same_full_page(_: usize, _: &str, next: &str) -> Value {
    let jobs = (0..1000)
        .map(|i| summary(&format!("O{i}"), "other"))
        .collect();
    page(5000, Some(next), jobs)
}

#[tokio::test]
async fn a_service_that_ignores_the_page_number_ends_the_lookup_with_an_error() {
    let Lookup {
        server,
        creates,
        summary,
        ..
    } = lookup(same_full_page, same_full_page).await;
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert!(
        summary.failed[0].1.contains("ignore the page number"),
        "{summary:?}"
    );
    let gets = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(gets, 2);
}

// The service counts the list ([J]: 1), then X is created, then it reads the page up to
// the count: [X], a short page that links nowhere. It looks like the whole list, and is
// not: a second listing is read, and finds J.
fn cut_short_first(n: usize, name: &str, _: &str) -> Value {
    match n {
        0 => page(1, None, vec![summary("X", "other")]),
        _ => page(2, None, vec![summary("X", "other"), summary("J", name)]),
    }
}

#[tokio::test]
async fn a_first_page_cut_short_by_a_stale_count_is_not_taken_for_the_whole_list() {
    let Lookup {
        server,
        creates,
        summary,
        ..
    } = lookup(cut_short_first, steady_second).await;
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
    assert_eq!(listings(&server).await, 2);
}

// J, the job whose create answer was lost, is the oldest of the account (all others are
// newer than the margin). In each listing page 1 reads [A1..A1000] under count 1002;
// page 2 is counted at 1002, then a job is created (pushing A1000 down and J out of
// reach) and page 2 read up to the stale count: [A1000 B], linking nowhere. The job is
// deleted before the next listing, and the same happens again. The two listings agree
// job for job, but both repeated A1000: they saw creations, and witness nothing.
fn a_thousand_first(_: usize, _: &str, next: &str) -> Value {
    let jobs = (1..=1000)
        .map(|i| summary(&format!("A{i}"), "other"))
        .collect();
    page(1002, Some(next), jobs)
}

fn cut_by_a_creation_second(_: usize, _: &str, _: &str) -> Value {
    page(
        1002,
        None,
        vec![summary("A1000", "other"), summary("B", "other")],
    )
}

#[tokio::test]
async fn listings_that_saw_jobs_created_while_they_read_are_no_witness_of_absence() {
    let Lookup {
        server,
        creates,
        summary,
        ..
    } = lookup(a_thousand_first, cut_by_a_creation_second).await;
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "the job was created twice"
    );
    assert_eq!(listings(&server).await, 4);
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert!(summary.failed[0].1.contains("4 listings"), "{summary:?}");
}

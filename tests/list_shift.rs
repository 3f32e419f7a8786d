//! Lists read while jobs are created and deleted: a job that was there all along is
//! yielded once, even when the `count` does not show the change.
//!
//! The server decides the order that matters, not the scheduler: one page is answered
//! first, from the list as it was; another waits until then, and the list changes before
//! that one is answered.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rescale::jobs::JobSummary;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Notify;

const PER_PAGE: usize = 2;

/// The list, newest first, and the page numbers asked for.
struct List {
    jobs: Vec<String>,
    asked: Vec<u64>,
}

/// How the list changes while it is read.
struct Change {
    /// The page whose first read waits for page `first`'s first answer; the list changes
    /// then, before it is answered.
    waits: u64,
    first: u64,
    /// Jobs created at the head, and jobs deleted.
    created: Vec<String>,
    deleted: Vec<String>,
}

struct Server {
    list: Mutex<List>,
    base: String,
    change: Change,
    first_answered: Notify,
}

impl Server {
    fn page(&self, number: u64) -> serde_json::Value {
        let list = self.list.lock().unwrap();
        let from = (number as usize - 1) * PER_PAGE;
        let results: Vec<_> = list
            .jobs
            .iter()
            .skip(from)
            .take(PER_PAGE)
            .map(|id| json!({"id": id, "name": format!("job {id}"), "jobStatus": {"content": "Executing"}}))
            .collect();
        let next = (from + PER_PAGE < list.jobs.len())
            .then(|| format!("{}jobs/?page={}&page_size=2", self.base, number + 1));
        json!({"count": list.jobs.len(), "next": next, "previous": null, "results": results})
    }

    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let number: u64 = request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("page="))
            .map_or(1, |n| n.parse().unwrap());
        let first_read = {
            let mut list = self.list.lock().unwrap();
            list.asked.push(number);
            list.asked.iter().filter(|n| **n == number).count() == 1
        };
        let change = &self.change;
        if number == change.waits && first_read {
            // A bound only so that a client that never asks for the other page fails
            // instead of hanging.
            let _ =
                tokio::time::timeout(Duration::from_secs(30), self.first_answered.notified()).await;
            let mut list = self.list.lock().unwrap();
            list.jobs.retain(|id| !change.deleted.contains(id));
            for id in change.created.iter().rev() {
                list.jobs.insert(0, id.clone());
            }
        }
        let body = self.page(number);
        if number == change.first && first_read {
            self.first_answered.notify_one();
        }
        Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
    }
}

async fn start(jobs: Vec<String>, change: Change) -> Arc<Server> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Arc::new(Server {
        list: Mutex::new(List {
            jobs,
            asked: Vec::new(),
        }),
        base: format!("http://{}/api/v2/", listener.local_addr().unwrap()),
        change,
        first_answered: Notify::new(),
    });
    let serving = server.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let server = serving.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| server.clone().answer(request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    server
}

fn names(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// `n` jobs, `j00` to `j..`, newest first.
fn jobs(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("j{i:02}")).collect()
}

/// Every job of the list, read two jobs a page, `concurrency` pages at once.
async fn read(server: &Server, concurrency: usize) -> Vec<String> {
    let client = rescale::Client::builder()
        .token("key")
        .base_url(&server.base)
        .build()
        .unwrap();
    let all: Vec<JobSummary> = client
        .jobs()
        .list()
        .page_size(2)
        .concurrency(concurrency)
        .stream()
        .try_collect()
        .await
        .unwrap();
    all.into_iter().map(|j| j.id.to_string()).collect()
}

/// `created` jobs created at the head, nothing deleted, when page `waits` is read (after
/// page `first` was answered).
fn burst(waits: u64, first: u64, created: usize) -> Change {
    Change {
        waits,
        first,
        created: (0..created).map(|i| format!("n{i}")).collect(),
        deleted: Vec::new(),
    }
}

fn assert_each_once(ids: &[String], expected: &[String]) {
    for job in expected {
        let times = ids.iter().filter(|id| *id == job).count();
        assert_eq!(times, 1, "{job} in {ids:?}");
    }
}

#[tokio::test]
async fn a_job_pushed_onto_a_page_answered_earlier_is_read_again_when_the_count_hides_it() {
    // [a b | c J | e f]: page 3 is answered first; then N is created and f deleted,
    // [N a | b c | J e], and page 2 is answered: J moved onto page 3, answered already.
    let change = Change {
        waits: 2,
        first: 3,
        created: names(&["N"]),
        deleted: names(&["f"]),
    };
    let server = start(names(&["a", "b", "c", "J", "e", "f"]), change).await;

    let ids = read(&server, 10).await;

    assert_eq!(ids, ["a", "b", "c", "J", "e"]);
    // Page 2 repeated b, which told that jobs were created while the pages were read:
    // page 3 was read again, after page 2.
    let mut asked = server.list.lock().unwrap().asked.clone();
    asked.sort();
    assert_eq!(asked, [1, 2, 3, 3]);
}

#[tokio::test]
async fn a_burst_of_jobs_created_between_two_pages_is_remembered_past_the_window() {
    // 12 jobs, 6 pages, 2 at once (3 pages remembered): page 5 waits for page 6, then 8
    // jobs are created at the head, pushing the jobs of page 1 onto page 5's range. The
    // growth page 5 tells keeps those pages in mind: each job once, none missed.
    let server = start(jobs(12), burst(5, 6, 8)).await;

    let ids = read(&server, 2).await;

    assert_each_once(&ids, &jobs(12));
}

#[tokio::test]
async fn a_read_one_page_after_another_yields_each_job_once_after_a_burst() {
    // One page after another: 6 jobs are created just before page 4 is answered.
    let server = start(jobs(12), burst(4, 1, 6)).await;

    let ids = read(&server, 1).await;

    assert_each_once(&ids, &jobs(12));
}

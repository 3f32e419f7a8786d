//! A list read several pages at once while jobs are created and deleted in equal numbers:
//! the `count` does not change, yet a job that was there all along must not be missed.
//!
//! The server decides the order that matters, not the scheduler: page 3 is answered
//! first, from the list as it was; page 2 waits until then, and the list changes before
//! page 2 is answered.

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

/// The list, newest first, two jobs a page, and the page numbers asked for.
struct List {
    jobs: Vec<&'static str>,
    asked: Vec<u64>,
}

struct Server {
    list: Mutex<List>,
    base: String,
    /// Page 3 was answered from the list as it was.
    third_answered: Notify,
}

const PER_PAGE: usize = 2;

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
        self.list.lock().unwrap().asked.push(number);
        if number == 2
            && self
                .list
                .lock()
                .unwrap()
                .asked
                .iter()
                .filter(|n| **n == 2)
                .count()
                == 1
        {
            // The first page-2 read waits for page 3's first answer (a bound only so that a
            // client that never asks for page 3 fails instead of hanging), then a job is
            // created at the head and the job after J deleted: the count stays 6.
            let _ =
                tokio::time::timeout(Duration::from_secs(30), self.third_answered.notified()).await;
            let mut list = self.list.lock().unwrap();
            list.jobs.retain(|id| *id != "f");
            list.jobs.insert(0, "N");
        }
        let body = self.page(number);
        if number == 3 {
            self.third_answered.notify_one();
        }
        Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
    }
}

async fn start(jobs: Vec<&'static str>) -> Arc<Server> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Arc::new(Server {
        list: Mutex::new(List {
            jobs,
            asked: Vec::new(),
        }),
        base: format!("http://{}/api/v2/", listener.local_addr().unwrap()),
        third_answered: Notify::new(),
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

#[tokio::test]
async fn a_job_pushed_onto_a_page_answered_earlier_is_read_again_when_the_count_hides_it() {
    // [a b | c J | e f]: page 3 is answered first; then N is created and f deleted,
    // [N a | b c | J e], and page 2 is answered: J moved onto page 3, answered already.
    let server = start(vec!["a", "b", "c", "J", "e", "f"]).await;
    let client = rescale::Client::builder()
        .token("key")
        .base_url(&server.base)
        .build()
        .unwrap();

    let all: Vec<JobSummary> = client
        .jobs()
        .list()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();

    let ids: Vec<&str> = all.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "J", "e"]);
    // Page 2 repeated b, which told that jobs were created while the pages were read:
    // page 3 was read again, after page 2.
    let mut asked = server.list.lock().unwrap().asked.clone();
    asked.sort();
    assert_eq!(asked, [1, 2, 3, 3]);
}

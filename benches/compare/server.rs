//! A local HTTP/1.1 server on 127.0.0.1 that answers like Rescale, on its own thread and
//! runtime so that its work is not scheduled among the client's.
//!
//! Routes, under a prefix `/{total}/{delay_ms}/api/v2/` that sets the size of the job list
//! and how long each page takes:
//! - `jobs/{id}/`: the full job of `tests/fixtures/job.json`;
//! - `jobs/?page=n&page_size=m`: page `n` of `total` job summaries shaped like
//!   `tests/fixtures/jobs_list.json`, with absolute `next` and `previous` links;
//! - `files/{bytes}/contents/`: `bytes` bytes of file content, with `Content-Length`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

const JOB: &str = include_str!("../../tests/fixtures/job.json");
const JOBS_LIST: &str = include_str!("../../tests/fixtures/jobs_list.json");

/// The page size whose pages are rendered once, up front.
pub const PAGE_SIZE: usize = 100;
/// How many distinct pages are rendered; page `n` reuses rendering `n % CACHED_PAGES`.
const CACHED_PAGES: usize = 1000;
/// Size of the chunks a file download is sent in.
const FILE_CHUNK: usize = 256 * 1024;

type Body = BoxBody<Bytes, Infallible>;

struct Content {
    addr: SocketAddr,
    job: Bytes,
    /// The `results` array of each cached page of `PAGE_SIZE` summaries.
    results: Vec<Bytes>,
    summary: Value,
    file_chunk: Bytes,
}

/// Starts the server and returns its address.
pub fn start() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = listener.local_addr().expect("local address");
    let summary = fixture_summary();
    let results = (0..CACHED_PAGES)
        .map(|p| render_results(&summary, p, PAGE_SIZE))
        .collect();
    let job: Value = serde_json::from_str(JOB).expect("job fixture");
    let content = Arc::new(Content {
        addr,
        job: Bytes::from(serde_json::to_vec(&job).expect("job")),
        results,
        summary,
        file_chunk: Bytes::from(vec![0x5a; FILE_CHUNK]),
    });
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(accept(listener, content));
        })
        .expect("server thread");
    addr
}

async fn accept(listener: std::net::TcpListener, content: Arc<Content>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    while let Ok((socket, _)) = listener.accept().await {
        socket.set_nodelay(true).ok();
        let content = content.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, content.clone()));
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await
                .ok();
        });
    }
}

fn render_results(summary: &Value, page: usize, size: usize) -> Bytes {
    let items: Vec<Value> = (0..size)
        .map(|i| {
            let mut item = summary.clone();
            item["id"] = format!("J{page}x{i}").into();
            item["name"] = format!("sweep case {page}-{i}").into();
            item["storage"] = (page * size + i).into();
            item
        })
        .collect();
    Bytes::from(serde_json::to_vec(&items).expect("summaries"))
}

async fn answer(
    req: Request<Incoming>,
    content: Arc<Content>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let response = match segments.as_slice() {
        [total, delay, "api", "v2", "jobs"] => {
            let (total, delay) = (total.parse().unwrap_or(0), delay.parse().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(delay)).await;
            json(page(&content, &segments[..2], total, req.uri().query()))
        }
        [_, _, "api", "v2", "jobs", _] => json(content.job.clone()),
        [_, _, "api", "v2", "files", bytes, "contents"] => {
            file(&content, bytes.parse().unwrap_or(0))
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(br#"{"detail":"Not found."}"#)).boxed())
            .expect("response"),
    };
    Ok(response)
}

fn json(body: Bytes) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(body).boxed())
        .expect("response")
}

fn page(content: &Content, prefix: &[&str], total: usize, query: Option<&str>) -> Bytes {
    let (mut number, mut size) = (1usize, PAGE_SIZE);
    for pair in query.unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("page", v)) => number = v.parse().unwrap_or(1).max(1),
            Some(("page_size", v)) => size = v.parse().unwrap_or(PAGE_SIZE).max(1),
            _ => {}
        }
    }
    let pages = total.div_ceil(size);
    let link = |n: usize| {
        if n >= 1 && n <= pages {
            format!(
                "\"http://{}/{}/{}/api/v2/jobs/?page={n}&page_size={size}\"",
                content.addr, prefix[0], prefix[1]
            )
        } else {
            "null".to_owned()
        }
    };
    let results = if number > pages {
        Bytes::from_static(b"[]")
    } else if size == PAGE_SIZE && number * size <= total {
        content.results[number % CACHED_PAGES].clone()
    } else {
        let len = size.min(total - (number - 1) * size);
        render_results(&content.summary, number, len)
    };
    envelope(total, &link(number + 1), &link(number - 1), &results)
}

/// The first job summary of `tests/fixtures/jobs_list.json`, the model of every item.
fn fixture_summary() -> Value {
    let mut list: Value = serde_json::from_str(JOBS_LIST).expect("jobs_list fixture");
    list["results"][0].take()
}

/// A page around `results`; `next` and `previous` are JSON values (a string or null).
fn envelope(count: usize, next: &str, previous: &str, results: &[u8]) -> Bytes {
    let head = format!(r#"{{"count":{count},"next":{next},"previous":{previous},"results":"#);
    let mut body = Vec::with_capacity(head.len() + results.len() + 1);
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(results);
    body.push(b'}');
    Bytes::from(body)
}

fn file(content: &Content, len: u64) -> Response<Body> {
    let chunk = content.file_chunk.clone();
    let chunks = stream::iter((0..len.div_ceil(FILE_CHUNK as u64)).map(move |i| {
        let left = len - i * FILE_CHUNK as u64;
        Ok::<_, Infallible>(Frame::data(
            chunk.slice(..left.min(FILE_CHUNK as u64) as usize),
        ))
    }));
    Response::builder()
        .header("content-type", "application/octet-stream")
        .header("content-length", len)
        .body(BodyExt::boxed(StreamBody::new(chunks)))
        .expect("response")
}

/// A page of `PAGE_SIZE` summaries as the server sends it, for the decoding figures.
pub fn sample_page() -> Bytes {
    let results = render_results(&fixture_summary(), 1, PAGE_SIZE);
    let next = r#""http://127.0.0.1:9/100000/0/api/v2/jobs/?page=2&page_size=100""#;
    envelope(100_000, next, "null", &results)
}

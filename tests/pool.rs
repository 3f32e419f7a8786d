//! One connection pool: every call of a `Client` and of its clones reuses the same
//! keep-alive connections, counted at a raw TCP listener on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const JOB: &str = include_str!("fixtures/job.json");
const CALLS: usize = 1000;

/// Counts of what the server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: AtomicUsize,
    bad_auth: AtomicUsize,
}

/// A minimal HTTP/1.1 keep-alive server that answers every request with the job fixture.
async fn serve(listener: TcpListener, seen: Arc<Seen>) {
    while let Ok((socket, _)) = listener.accept().await {
        seen.connections.fetch_add(1, Ordering::SeqCst);
        let seen = seen.clone();
        tokio::spawn(async move {
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read);
            loop {
                // Read one request head; the client's GETs carry no body.
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => head.push(line),
                    }
                }
                seen.requests.fetch_add(1, Ordering::SeqCst);
                if !head
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case("authorization: Token pool-key\r\n"))
                {
                    seen.bad_auth.fetch_add(1, Ordering::SeqCst);
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{JOB}",
                    JOB.len()
                );
                if write.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_and_its_clones_share_one_pool() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let server = tokio::spawn(serve(listener, seen.clone()));

    let client = rescale::Client::builder()
        .token("pool-key")
        .base_url(format!("http://{addr}/api/v2/"))
        .build()
        .unwrap();
    // More clones than the allowed connections: a pool per clone would show.
    let clones: Vec<rescale::Client> = (0..10).map(|_| client.clone()).collect();
    for i in 0..CALLS {
        // Each call through a fresh clone of one of the clones, or of the original.
        let c = if i % 11 == 0 {
            client.clone()
        } else {
            clones[i % 11 - 1].clone()
        };
        let job = c.jobs().get("aabbcc").await.unwrap();
        assert_eq!(job.id.as_str(), "aabbcc");
    }

    assert_eq!(seen.requests.load(Ordering::SeqCst), CALLS);
    assert_eq!(seen.bad_auth.load(Ordering::SeqCst), 0);
    let connections = seen.connections.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&connections),
        "{CALLS} sequential calls opened {connections} TCP connections"
    );
    server.abort();
}

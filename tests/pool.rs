//! One connection pool: a `Client` and its clones share keep-alive connections. A raw
//! HTTP/1.1 server on 127.0.0.1 notes the connection each request arrived on.
//!
//! What is asserted does not depend on scheduling: a request of one clone arriving on a
//! connection another clone opened can only happen with one shared pool (with a pool per
//! clone it never happens, however the calls are timed), and two independent clients,
//! the control, never share a connection. How many connections a run opens (a pooled
//! connection may come back to the pool a moment after its answer was read) is not
//! asserted. The same holds for a handle with overridden settings (`Client::with_retry`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const JOB: &str = include_str!("fixtures/job.json");
const KEY: &str = "pool-key-0123456789";

/// `(connection number, request path)` for every request, in order of arrival.
type Seen = Arc<Mutex<Vec<(usize, String)>>>;

/// A minimal HTTP/1.1 keep-alive server that answers every request with the job fixture.
async fn serve(listener: TcpListener, seen: Seen) {
    let mut connection = 0;
    while let Ok((socket, _)) = listener.accept().await {
        connection += 1;
        let (seen, id) = (seen.clone(), connection);
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
                let target = head
                    .first()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or_default()
                    .to_owned();
                let authorized = head
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&format!("authorization: Token {KEY}\r\n")));
                let path = if authorized {
                    target
                } else {
                    "unauthorized".into()
                };
                seen.lock().unwrap().push((id, path));
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

async fn server() -> (String, Seen, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v2/", listener.local_addr().unwrap());
    let seen = Seen::default();
    let task = tokio::spawn(serve(listener, seen.clone()));
    (base, seen, task)
}

fn client(base: &str) -> rescale::Client {
    rescale::Client::builder()
        .token(KEY)
        .base_url(base)
        .throttle(rescale::ThrottleConfig::off())
        .build()
        .unwrap()
}

/// For each connection, the set of callers whose requests arrived on it; a caller is the
/// part of the job id before its number (`clone7-3` is caller `clone7`).
fn callers_per_connection(seen: &Seen) -> BTreeMap<usize, BTreeSet<String>> {
    let mut out: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (connection, path) in seen.lock().unwrap().iter() {
        let id = path
            .trim_start_matches("/api/v2/jobs/")
            .trim_end_matches('/');
        let caller = id.split('-').next().unwrap_or(id).to_owned();
        out.entry(*connection).or_default().insert(caller);
    }
    out
}

#[tokio::test]
async fn a_client_and_its_clones_share_one_pool() {
    const CLONES: usize = 100;
    let (base, seen, task) = server().await;
    let original = client(&base);

    // Each clone (made from the previous one) makes two sequential calls, then is dropped.
    let mut current = original.clone();
    for i in 0..CLONES {
        let clone = current.clone();
        for call in 0..2 {
            clone.jobs().get(format!("clone{i}-{call}")).await.unwrap();
        }
        current = clone;
    }

    let all = seen.lock().unwrap().clone();
    assert_eq!(all.len(), CLONES * 2);
    assert!(
        all.iter().all(|(_, p)| p.starts_with("/api/v2/jobs/clone")),
        "requests without the key or elsewhere: {all:?}"
    );
    let shared = callers_per_connection(&seen)
        .values()
        .filter(|callers| callers.len() > 1)
        .count();
    assert!(
        shared > 0,
        "no connection served two clones: each clone has a pool of its own ({:?})",
        callers_per_connection(&seen)
    );
    task.abort();
}

#[tokio::test]
async fn two_independent_clients_never_share_a_connection() {
    // The control: the server's bookkeeping does tell pools apart.
    let (base, seen, task) = server().await;
    let (a, b) = (client(&base), client(&base));

    for i in 0..50 {
        a.jobs().get(format!("a-{i}")).await.unwrap();
        b.jobs().get(format!("b-{i}")).await.unwrap();
    }

    let per_connection = callers_per_connection(&seen);
    assert!(per_connection.len() >= 2, "{per_connection:?}");
    for callers in per_connection.values() {
        assert_eq!(callers.len(), 1, "{per_connection:?}");
    }
    task.abort();
}

#[tokio::test]
async fn a_client_and_its_overrides_share_one_pool() {
    // `with_retry` and the timeout overrides change settings, not the pool: a request of
    // the override arriving on a connection the client opened (or the reverse) proves it.
    let (base, seen, task) = server().await;
    let original = client(&base);
    let once_only = original
        .with_retry(rescale::RetryPolicy::none())
        .with_attempt_timeout(std::time::Duration::from_secs(20))
        .with_operation_timeout(std::time::Duration::from_secs(60));

    for i in 0..50 {
        original.jobs().get(format!("base-{i}")).await.unwrap();
        once_only.jobs().get(format!("override-{i}")).await.unwrap();
    }

    let per_connection = callers_per_connection(&seen);
    assert!(
        per_connection
            .values()
            .any(|callers| callers.contains("base") && callers.contains("override")),
        "no connection served both the client and its override: the override has a pool \
         of its own ({per_connection:?})"
    );
    task.abort();
}

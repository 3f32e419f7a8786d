//! Edges of the README's promises: a wait on a job that does not exist, a download whose
//! connection drops after its last byte, a base URL without its API path.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{client_without_retries, file_object, job_file, sha512_hex};
use rescale::{Client, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Only guards against a hang; the assertions never depend on it.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[tokio::test]
async fn waiting_for_the_cluster_of_a_job_that_does_not_exist_ends_not_found() {
    let server = MockServer::start().await;
    for route in [
        "/api/v2/jobs/NoSuch/cluster_statuses/",
        "/api/v2/jobs/NoSuch/",
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(serde_json::json!({"detail": "Not found."})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }

    let wait = client_without_retries(&server.uri())
        .jobs()
        .wait_for_cluster_stop("NoSuch")
        .poll_interval(Duration::from_millis(5));
    let err = tokio::time::timeout(HANG_GUARD, wait)
        .await
        .expect("the wait ends instead of polling for ever")
        .unwrap_err();

    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("GET jobs/NoSuch/"), "{err}");
}

/// Serves the whole body with chunked encoding, then closes the connection without the
/// last (empty) chunk; any later connection (a resume) gets 416.
async fn drops_after_the_last_byte(body: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                let reply = if n == 0 {
                    let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                    r.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                    r.extend_from_slice(body);
                    r.extend_from_slice(b"\r\n");
                    r
                } else {
                    b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n".to_vec()
                };
                let _ = socket.write_all(&reply).await;
                let _ = socket.flush().await;
                // Dropped here: the connection closes before the terminating chunk.
            });
        }
    });
    (uri, seen)
}

#[tokio::test]
async fn a_download_that_received_every_byte_finishes_though_the_connection_then_drops() {
    const BODY: &[u8] = b"every byte of the output arrives, then the connection drops\n";
    let (uri, connections) = drops_after_the_last_byte(BODY).await;
    let file = job_file(&file_object("F1", "out.txt", BODY));
    let mut sink = Vec::new();

    let size = tokio::time::timeout(
        HANG_GUARD,
        client_without_retries(&uri)
            .files()
            .download(&file)
            .to_writer(&mut sink),
    )
    .await
    .unwrap()
    .unwrap();

    assert_eq!(size, BODY.len() as u64);
    assert_eq!(sink, BODY);
    assert_eq!(sha512_hex(&sink), sha512_hex(BODY));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "no resume was needed"
    );
}

#[tokio::test]
async fn a_download_that_received_every_byte_of_the_wrong_content_still_fails_its_check() {
    const BODY: &[u8] = b"these bytes are not the file the service described\n";
    let (uri, _) = drops_after_the_last_byte(BODY).await;
    let mut object = file_object("F1", "out.txt", BODY);
    object["fileChecksums"][0]["fileHash"] = serde_json::json!(sha512_hex(b"something else"));
    let mut sink = Vec::new();

    let err = client_without_retries(&uri)
        .files()
        .download(&job_file(&object))
        .to_writer(&mut sink)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::ChecksumMismatch { check, .. } if check == "sha512"),
        "{err:?}"
    );
}

#[test]
fn a_base_url_without_its_api_path_is_refused_naming_the_form_expected() {
    for bare in ["https://eu.rescale.com", "https://eu.rescale.com/"] {
        let err = Client::builder()
            .token("key")
            .base_url(bare)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(
            err.to_string().contains("`https://eu.rescale.com/api/v2/`"),
            "{err}"
        );
    }
}

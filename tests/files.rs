//! Files: upload, metadata, download (resume, checksums).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{
    client_at, file_object, fixture, header, job_file, serve_cut_then_whole, sha512_hex, tree,
};
use rescale::Error;
use rescale::files::ProgressKind;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn upload_from_a_path_is_one_multipart_request_with_a_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/files/contents/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("file.json")))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("model.inp");
    let content = b"*HEADING\nmodel input\n".repeat(1000);
    std::fs::write(&input, &content).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();

    let file = client_at(&server.uri())
        .files()
        .upload(&input)
        .on_progress(move |e| seen.lock().unwrap().push(e))
        .await
        .unwrap();

    assert_eq!(file.id, "WvNKdb");
    let requests = server.received_requests().await.unwrap();
    let req = &requests[0];
    assert!(
        header(req, "content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    assert_eq!(
        header(req, "content-length").unwrap(),
        req.body.len().to_string()
    );
    assert_eq!(header(req, "transfer-encoding"), None);
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Token {}", common::KEY).as_str())
    );
    let body = String::from_utf8_lossy(&req.body);
    assert!(
        body.contains(r#"Content-Disposition: form-data; name="file"; filename="model.inp""#),
        "{body:.300}"
    );
    assert!(req.body.windows(content.len()).any(|w| w == content));
    let events = events.lock().unwrap();
    assert_eq!(events.first().unwrap().kind, ProgressKind::Started);
    let sent: u64 = events.iter().map(|e| e.delta).sum();
    assert_eq!(sent, content.len() as u64);
    let last = events.last().unwrap();
    assert_eq!(last.kind, ProgressKind::Finished, "the file stored");
    assert_eq!((last.done, last.delta), (content.len() as u64, 0));
    assert_eq!(last.total, Some(content.len() as u64));
    let finished = events.iter().filter(|e| e.kind == ProgressKind::Finished);
    assert_eq!(finished.count(), 1);
}

#[tokio::test]
async fn upload_from_a_reader_sends_exactly_its_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/files/contents/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("file.json")))
        .expect(1)
        .mount(&server)
        .await;
    let data: &'static [u8] = b"0123456789-and-more-that-is-not-sent";

    client_at(&server.uri())
        .files()
        .upload_reader("numbers.txt", data, 10)
        .await
        .unwrap();

    let req = &server.received_requests().await.unwrap()[0];
    let body = String::from_utf8_lossy(&req.body);
    assert!(body.contains(r#"filename="numbers.txt""#));
    assert!(body.contains("\r\n\r\n0123456789\r\n--"), "{body}");
    assert!(!body.contains("and-more"));
    assert_eq!(header(req, "transfer-encoding"), None);
}

#[tokio::test]
async fn upload_of_a_missing_path_names_it_and_sends_nothing() {
    let server = MockServer::start().await;
    let err = client_at(&server.uri())
        .files()
        .upload("/no/such/dir/input.dat")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == Path::new("/no/such/dir/input.dat")),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn file_metadata_by_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/files/WvNKdb/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("file.json")))
        .expect(1)
        .mount(&server)
        .await;
    let file = client_at(&server.uri())
        .files()
        .get("WvNKdb")
        .await
        .unwrap();
    assert_eq!(file.name, "Crash_input.pc.gz");
    assert_eq!(file.decrypted_size, Some(56425931));
    assert_eq!(
        file.md5.as_deref(),
        Some("a3bc423552cf5457b2fcf4fad87e451d")
    );
}

#[tokio::test]
async fn download_writes_the_file_from_the_configured_host_and_leaves_no_temp_file() {
    let server = MockServer::start().await;
    let content = b"solver output\n".repeat(500);
    Mock::given(method("GET"))
        .and(path("/api/v2/files/out1/contents/"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sub/result.txt");
    let file = job_file(&file_object("out1", "result.txt", &content));

    let size = client_at(&server.uri())
        .files()
        .download(&file)
        .to_path(&target)
        .await
        .unwrap();

    assert_eq!(size, content.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), content);
    assert_eq!(tree(dir.path()), ["sub", "sub/result.txt"]);
    #[cfg(unix)]
    {
        // The mode of any file this process creates (0666 less the umask): not left
        // private like a temporary file, nor opened wider than the umask allows.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        assert_eq!(mode(&target), mode(&plain));
        if std::env::var_os(UMASK_077).is_some() {
            assert_eq!(mode(&target), 0o600);
        }
    }
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Token {}", common::KEY).as_str())
    );
    assert_eq!(header(req, "range"), None);
}

/// Set in the child of [`a_downloaded_file_follows_the_umask`], which runs under umask 077.
const UMASK_077: &str = "RESCALE_TEST_UMASK_077";

/// The download test again in a child process under `umask 077` (a process-wide setting,
/// so not changed in this one): the file must come out 0600, where a fixed 0644 would let
/// every local user read the results.
#[cfg(unix)]
#[test]
fn a_downloaded_file_follows_the_umask() {
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            "umask 077 && exec \"$0\" --exact \"$1\" --test-threads=1",
        ])
        .arg(std::env::current_exe().unwrap())
        .arg("download_writes_the_file_from_the_configured_host_and_leaves_no_temp_file")
        .env(UMASK_077, "1")
        .status()
        .unwrap();
    assert!(status.success(), "the download under umask 077: {status}");
}

#[tokio::test]
async fn download_to_a_writer_checks_the_md5_when_there_is_no_sha512() {
    let server = MockServer::start().await;
    let content = b"hello".to_vec();
    Mock::given(method("GET"))
        .and(path("/api/v2/files/f5/contents/"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content.clone()))
        .expect(2)
        .mount(&server)
        .await;
    let mut value = file_object("f5", "hello.txt", &content);
    value["fileChecksums"] = json!([]);
    value["md5"] = json!("5d41402abc4b2a76b9719d911017c592"); // md5("hello")
    let files = client_at(&server.uri()).files();

    let mut out = Vec::new();
    let size = files
        .download(&job_file(&value))
        .to_writer(&mut out)
        .await
        .unwrap();
    assert_eq!((size, out.as_slice()), (5, &b"hello"[..]));

    value["md5"] = json!("ffffffffffffffffffffffffffffffff");
    let err = files
        .download(&job_file(&value))
        .to_writer(&mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ChecksumMismatch { check, .. } if check == "md5"),
        "{err}"
    );
}

#[tokio::test]
async fn checksum_mismatch_leaves_no_file_at_the_target() {
    let server = MockServer::start().await;
    let promised = b"the real contents".to_vec();
    let tampered = b"the fake contents".to_vec(); // same length, other bytes
    Mock::given(method("GET"))
        .and(path("/api/v2/files/bad/contents/"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(tampered))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("result.dat");
    let file = job_file(&file_object("bad", "result.dat", &promised));

    let err = client_at(&server.uri())
        .files()
        .download(&file)
        .to_path(&target)
        .await
        .unwrap_err();

    match &err {
        Error::ChecksumMismatch {
            file,
            check,
            expected,
            ..
        } => {
            assert_eq!(file, "result.dat");
            assert_eq!(check, "sha512");
            assert_eq!(expected, &sha512_hex(&promised));
        }
        other => panic!("{other}"),
    }
    assert!(!target.exists());
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

/// Reads one HTTP/1.1 request head from `socket` and returns it.
async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = socket.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "connection closed mid-request");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

fn range_of(head: &str) -> Option<String> {
    head.lines()
        .find_map(|l| {
            l.strip_prefix("range: ")
                .or_else(|| l.strip_prefix("Range: "))
        })
        .map(str::to_owned)
}

#[tokio::test]
async fn a_download_dropped_halfway_resumes_with_range_and_matches_its_sha512() {
    const SIZE: usize = 5 * 1024 * 1024;
    const HALF: usize = SIZE / 2;
    // Deterministic, non-repeating bytes.
    let content: Arc<Vec<u8>> = Arc::new(
        (0..SIZE as u64)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = content.clone();
    let server = tokio::spawn(async move {
        let mut heads = Vec::new();
        // First connection: promises 5 MiB, sends half, hangs up.
        let (mut socket, _) = listener.accept().await.unwrap();
        heads.push(read_head(&mut socket).await);
        socket
            .write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        socket.write_all(&body[..HALF]).await.unwrap();
        socket.flush().await.unwrap();
        drop(socket);
        // Second connection: the rest, as a 206.
        let (mut socket, _) = listener.accept().await.unwrap();
        let head = read_head(&mut socket).await;
        let start: usize = range_of(&head)
            .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
            .unwrap_or(0);
        heads.push(head);
        socket
            .write_all(
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{SIZE}\r\nConnection: close\r\n\r\n",
                    SIZE - start,
                    SIZE - 1
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        socket.write_all(&body[start..]).await.unwrap();
        socket.flush().await.unwrap();
        heads
    });
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big.bin");
    let file = job_file(&file_object("big", "big.bin", &content));
    let kinds = Arc::new(Mutex::new(Vec::new()));
    let seen = kinds.clone();

    let size = client_at(&base)
        .files()
        .download(&file)
        .on_progress(move |e| seen.lock().unwrap().push(e.kind))
        .to_path(&target)
        .await
        .unwrap();

    let heads = server.await.unwrap();
    assert_eq!(size, SIZE as u64);
    assert_eq!(heads.len(), 2);
    assert!(heads[0].starts_with("GET /api/v2/files/big/contents/ HTTP/1.1"));
    assert_eq!(range_of(&heads[0]), None);
    assert!(heads[1].starts_with("GET /api/v2/files/big/contents/ HTTP/1.1"));
    assert_eq!(range_of(&heads[1]), Some(format!("bytes={HALF}-")));
    let written = std::fs::read(&target).unwrap();
    assert_eq!(sha512_hex(&written), file.sha512().unwrap());
    assert_eq!(written.len(), SIZE);
    let kinds = kinds.lock().unwrap();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ProgressKind::Resumed)
            .count(),
        1
    );
    assert_eq!(kinds.last(), Some(&ProgressKind::Finished));
}

#[tokio::test]
async fn a_server_that_ignores_range_is_read_from_where_the_download_stopped() {
    // The first answer ends early without an error; the second ignores Range (200).
    let content = b"abcdefghijklmnopqrstuvwxyz".to_vec();
    let server = MockServer::start().await;
    serve_cut_then_whole(&server, "/api/v2/files/r/contents/", &content, 10).await;
    let mut out = Vec::new();
    let file = job_file(&file_object("r", "abc.txt", &content));

    client_at(&server.uri())
        .files()
        .download(&file)
        .to_writer(&mut out)
        .await
        .unwrap();

    assert_eq!(out, content);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(header(&requests[1], "range"), Some("bytes=10-"));
}

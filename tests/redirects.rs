//! Redirects: the key is sent only to the configured origin, whatever the chain (B → B,
//! B → C, B → A → B), the status (301, 302, 303, 307, 308), the method, and for downloads
//! and uploads. Each server is a MockServer on its own port, i.e. its own origin.

mod common;

use common::{KEY, client, file_object, fixture, header, job_file, requests};
use reqwest::StatusCode;
use rescale::Client;
use rescale::jobs::JobPatch;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn redirect(status: u16, to: String) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Location", to.as_str())
}

/// Mounts `from` on `server` answering any method with a redirect to `to`.
async fn hop(server: &MockServer, from: &str, status: u16, to: String) {
    Mock::given(path(from))
        .respond_with(redirect(status, to))
        .mount(server)
        .await;
}

/// Mounts the end of a chain at `at`: a job for GET, POST and PUT, a patched job for
/// PATCH, nothing for DELETE.
async fn landing(server: &MockServer, at: &str) {
    for m in ["GET", "POST", "PUT"] {
        Mock::given(method(m))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
            .mount(server)
            .await;
    }
    Mock::given(method("PATCH"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_patched.json")))
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
}

/// The origin sends `jobs/aabbcc/` to B, which sends it on within B: A → B → B.
async fn away_then_on_the_foreign_host(origin: &MockServer, b: &MockServer) {
    hop(
        origin,
        "/api/v2/jobs/aabbcc/",
        302,
        format!("{}/first/", b.uri()),
    )
    .await;
    hop(b, "/first/", 302, "/second/".into()).await;
    landing(b, "/second/").await;
}

fn carries_key(req: &Request) -> bool {
    req.headers.get("authorization").is_some()
}

/// Asserts that no request `server` saw carried an `Authorization` header.
async fn assert_never_saw_the_key(server: &MockServer, name: &str) {
    for req in requests(server).await {
        assert!(
            !carries_key(&req),
            "{name} received the key on {} {}",
            req.method,
            req.url
        );
        let shown = format!("{:?}", req.headers);
        assert!(!shown.contains(KEY), "{name} saw the key: {shown}");
    }
}

#[tokio::test]
async fn a_chain_that_stays_on_the_foreign_host_never_gives_it_the_key() {
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    away_then_on_the_foreign_host(&origin, &b).await;

    let job = client(&origin).jobs().get("aabbcc").await.unwrap();

    assert_eq!(job.id, "aabbcc");
    let ours = requests(&origin).await;
    assert_eq!(ours.len(), 1);
    assert_eq!(
        header(&ours[0], "authorization"),
        Some(format!("Token {KEY}").as_str())
    );
    let theirs = requests(&b).await;
    assert_eq!(
        theirs.iter().map(|r| r.url.path()).collect::<Vec<_>>(),
        ["/first/", "/second/"]
    );
    assert_never_saw_the_key(&b, "B").await;
}

#[tokio::test]
async fn a_chain_through_two_foreign_hosts_gives_neither_the_key() {
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    let c = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/jobs/aabbcc/",
        307,
        format!("{}/b/", b.uri()),
    )
    .await;
    hop(&b, "/b/", 308, format!("{}/c/", c.uri())).await;
    landing(&c, "/c/").await;

    client(&origin).jobs().get("aabbcc").await.unwrap();

    assert_eq!(requests(&b).await.len(), 1);
    assert_eq!(requests(&c).await.len(), 1);
    assert_never_saw_the_key(&b, "B").await;
    assert_never_saw_the_key(&c, "C").await;
}

#[tokio::test]
async fn a_chain_that_comes_back_to_the_origin_and_leaves_again_keeps_the_key_home() {
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/jobs/aabbcc/",
        302,
        format!("{}/out/", b.uri()),
    )
    .await;
    hop(&b, "/out/", 302, format!("{}/api/v2/back/", origin.uri())).await;
    hop(
        &origin,
        "/api/v2/back/",
        302,
        format!("{}/out-again/", b.uri()),
    )
    .await;
    landing(&b, "/out-again/").await;

    client(&origin).jobs().get("aabbcc").await.unwrap();

    let ours = requests(&origin).await;
    assert_eq!(ours.len(), 2);
    // Once the chain has left the origin, not even the origin gets the key again.
    assert!(carries_key(&ours[0]));
    assert!(!carries_key(&ours[1]), "{:?}", ours[1].headers);
    assert_eq!(requests(&b).await.len(), 2);
    assert_never_saw_the_key(&b, "B").await;
}

#[tokio::test]
async fn a_redirect_within_the_origin_keeps_the_key() {
    let origin = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/jobs/aabbcc/",
        301,
        "/api/v2/jobs/moved/".into(),
    )
    .await;
    landing(&origin, "/api/v2/jobs/moved/").await;

    client(&origin).jobs().get("aabbcc").await.unwrap();

    let ours = requests(&origin).await;
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().all(carries_key));
}

/// Every method the crate sends, through a chain A → B → B, for every redirect status:
/// B never sees the key, and the method changes as the status says.
#[tokio::test]
async fn every_status_and_every_method_keeps_the_key_from_the_foreign_host() {
    for status in [301, 302, 303, 307, 308] {
        for call in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let origin = MockServer::start().await;
            let b = MockServer::start().await;
            hop(
                &origin,
                "/api/v2/jobs/",
                status,
                format!("{}/hop/", b.uri()),
            )
            .await;
            hop(
                &origin,
                "/api/v2/jobs/aabbcc/",
                status,
                format!("{}/hop/", b.uri()),
            )
            .await;
            hop(&b, "/hop/", status, "/land/".into()).await;
            landing(&b, "/land/").await;
            let jobs = client(&origin).jobs();

            let result = match call {
                "GET" => jobs.get("aabbcc").await.map(drop),
                "POST" => jobs.create(&common::example_job()).await.map(drop),
                "PUT" => jobs
                    .update("aabbcc", &common::example_job())
                    .await
                    .map(drop),
                "PATCH" => jobs
                    .patch("aabbcc", &JobPatch::new().name("Renamed"))
                    .await
                    .map(drop),
                _ => jobs.delete("aabbcc").await,
            };

            let landed = requests(&b).await;
            result.unwrap_or_else(|e| panic!("{status} {call}: {e:?} ({landed:?})"));
            assert_eq!(requests(&origin).await.len(), 1, "{status} {call}");
            assert_eq!(landed.len(), 2, "{status} {call}");
            let want = match (status, call) {
                (303, _) | (301 | 302, "POST") => "GET",
                _ => call,
            };
            for req in &landed {
                assert_eq!(req.method.as_str(), want, "{status} {call}");
                let has_body = !req.body.is_empty();
                let sends_body = matches!(want, "POST" | "PUT" | "PATCH");
                assert_eq!(has_body, sends_body, "{status} {call}: body {:?}", req.body);
            }
            assert_never_saw_the_key(&b, &format!("B ({status} {call})")).await;
        }
    }
}

#[tokio::test]
async fn a_download_redirected_to_storage_that_redirects_again_carries_no_key() {
    let origin = MockServer::start().await;
    let storage = MockServer::start().await;
    let bytes = b"simulation output\n".repeat(100);
    let file = job_file(&file_object("F1", "out/result.txt", &bytes));
    hop(
        &origin,
        "/api/v2/files/F1/contents/",
        302,
        format!("{}/bucket/F1", storage.uri()),
    )
    .await;
    hop(&storage, "/bucket/F1", 307, "/bucket/F1?signed=1".into()).await;
    Mock::given(method("GET"))
        .and(path("/bucket/F1"))
        .and(wiremock::matchers::query_param("signed", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .with_priority(1)
        .mount(&storage)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("result.txt");

    let size = client(&origin)
        .files()
        .download(&file)
        .to_path(&target)
        .await
        .unwrap();

    assert_eq!(size, bytes.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert!(carries_key(&requests(&origin).await[0]));
    assert_eq!(requests(&storage).await.len(), 2);
    assert_never_saw_the_key(&storage, "storage").await;
}

#[tokio::test]
async fn an_upload_redirected_with_307_sends_its_body_again_without_the_key() {
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/files/contents/",
        307,
        format!("{}/up/", b.uri()),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/up/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("file.json")))
        .mount(&b)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("model.inp");
    std::fs::write(&input, b"*HEADING\n").unwrap();

    client(&origin).files().upload(&input).await.unwrap();

    let theirs = requests(&b).await;
    assert_eq!(theirs.len(), 1);
    assert!(String::from_utf8_lossy(&theirs[0].body).contains("*HEADING"));
    assert_never_saw_the_key(&b, "B").await;
}

#[tokio::test]
async fn an_upload_from_a_reader_redirected_with_307_ends_with_the_redirect_not_a_second_send() {
    let log = common::capture::Capture::start();
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/files/contents/",
        307,
        format!("{}/up/", b.uri()),
    )
    .await;

    let err = client(&origin)
        .files()
        .upload_reader("numbers.txt", &b"0123456789"[..], 10)
        .await
        .unwrap_err();

    // The answer is the redirect: an API error with its status, saying why it ends there.
    assert_eq!(
        err.status(),
        Some(StatusCode::TEMPORARY_REDIRECT),
        "{err:?}"
    );
    assert!(err.api_error().is_some(), "{err:?}");
    assert!(err.to_string().contains("cannot be sent twice"), "{err}");
    assert_eq!(requests(&origin).await.len(), 1);
    assert!(requests(&b).await.is_empty());
    // Nothing was followed, and the log does not say otherwise.
    let text = log.text();
    assert!(text.contains("rescale.request"), "{text}");
    assert!(!text.contains("following a redirect"), "{text}");
}

#[tokio::test]
async fn a_redirect_loop_ends_with_an_error_that_keeps_the_status() {
    let origin = MockServer::start().await;
    hop(
        &origin,
        "/api/v2/jobs/loop/",
        302,
        "/api/v2/jobs/loop/".into(),
    )
    .await;

    let err = client(&origin).jobs().get("loop").await.unwrap_err();

    assert_eq!(err.status(), Some(StatusCode::FOUND), "{err:?}");
    assert!(err.to_string().contains("redirects"), "{err}");
    assert_eq!(requests(&origin).await.len(), 11);
}

#[tokio::test]
async fn a_client_of_ones_own_without_redirects_gets_the_same_guarantee() {
    let origin = MockServer::start().await;
    let b = MockServer::start().await;
    away_then_on_the_foreign_host(&origin, &b).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = Client::builder()
        .token(KEY)
        .base_url(format!("{}/api/v2/", origin.uri()))
        .http_client(http)
        .build()
        .unwrap();

    client.jobs().get("aabbcc").await.unwrap();

    assert_eq!(requests(&b).await.len(), 2);
    assert_never_saw_the_key(&b, "B").await;
}

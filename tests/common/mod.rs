//! Helpers shared by the integration tests: a client for a MockServer, fixtures, and
//! assertions on the requests the server saw.
// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod capture;

use std::path::Path;

use rescale::Client;
use rescale::files::JobFile;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use wiremock::{MockServer, Request};

/// The API key every test client uses; it must never show in output.
pub const KEY: &str = "test-key-123";

/// The API prefix the test clients are configured with.
pub const PREFIX: &str = "/api/v2";

/// The User-Agent every request must carry.
pub const USER_AGENT: &str = concat!("rescale-rs/", env!("CARGO_PKG_VERSION"));

/// The job of `tests/fixtures/job_create_request.json`: one analysis, one core.
pub fn example_job() -> rescale::jobs::NewJob {
    use rescale::jobs::{Hardware, JobAnalysis, NewJob};
    NewJob::new(
        "Example Job",
        vec![
            JobAnalysis::new(
                "user_included",
                "echo \"Hello world\"",
                Hardware::new("standard-plus", 1),
            )
            .version("0"),
        ],
    )
}

/// A client for `server`, with key [`KEY`] and base URL `<server>/api/v2/`.
pub fn client(server: &MockServer) -> Client {
    client_with_key(server, KEY)
}

/// A client for `server` with the given key.
pub fn client_with_key(server: &MockServer, key: &str) -> Client {
    Client::builder()
        .token(key)
        .base_url(format!("{}{PREFIX}/", server.uri()))
        .build()
        .expect("a client for a loopback MockServer builds")
}

/// The path `/api/v2/<rest>` as the server sees it.
pub fn api_path(rest: &str) -> String {
    format!("{PREFIX}/{rest}")
}

/// The absolute URL `<server>/api/v2/<rest>`, as a `next` link would carry it.
pub fn api_url(server: &MockServer, rest: &str) -> String {
    format!("{}{PREFIX}/{rest}", server.uri())
}

/// A fixture from `tests/fixtures/`, as text.
pub fn fixture_str(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture from `tests/fixtures/`, as JSON.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_str(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every request the server received, in order.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// The one request the server received; fails if it saw any other number.
pub async fn only_request(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
    all.remove(0)
}

/// A header of a request as text.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts the request carried `Authorization: Token <KEY>` and the crate's User-Agent.
pub fn assert_auth(req: &Request) {
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Token {KEY}").as_str())
    );
    assert_eq!(header(req, "user-agent"), Some(USER_AGENT));
}

/// The query of a request as `(key, value)` pairs, in order.
pub fn query(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Builds the `(key, value)` pairs [`query`] returns, for comparison.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts that neither the `Display` nor the `Debug` of `value` shows the key.
pub fn assert_no_key<T: std::fmt::Display + std::fmt::Debug>(value: &T) {
    let shown = format!("{value} {value:?} {value:#?}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
}

/// A page body `{"count", "next", "previous", "results"}`.
pub fn page(count: u64, next: Option<String>, results: Value) -> Value {
    serde_json::json!({"count": count, "next": next, "previous": null, "results": results})
}

/// `n` minimal job summaries whose ids start with `prefix`.
pub fn summaries(prefix: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                serde_json::json!({
                    "id": format!("{prefix}{i}"),
                    "name": format!("job {prefix}{i}"),
                    "jobStatus": {"content": "Completed", "labelClass": "", "useLabel": false},
                    "clusterStatusDisplay": {"content": "Stopped", "labelClass": "", "useLabel": false}
                })
            })
            .collect(),
    )
}

/// A client of the server at `base` (its URI, without the API prefix): for raw TCP servers
/// and for tests that hold only a URI.
pub fn client_at(base: &str) -> Client {
    Client::builder()
        .token(KEY)
        .base_url(format!("{base}/api/v2/"))
        .build()
        .unwrap()
}

/// A client whose transport does not retry, for tests of the layers above it (waiting).
pub fn client_without_retries(base: &str) -> Client {
    Client::builder()
        .token(KEY)
        .base_url(format!("{base}/api/v2/"))
        .retry(rescale::RetryPolicy::none())
        .build()
        .unwrap()
}

/// A client of `server` that retries `retries` times at once (waits of 1 to 2 ms), with
/// its throttle off: for tests that count the attempts of a call.
pub fn client_retrying_at_once(server: &MockServer, retries: u32) -> Client {
    Client::builder()
        .token(KEY)
        .base_url(format!("{}{PREFIX}/", server.uri()))
        .throttle(rescale::ThrottleConfig::off())
        .retry(
            rescale::RetryPolicy::default()
                .max_retries(retries)
                .base_delay(std::time::Duration::from_millis(1))
                .max_delay(std::time::Duration::from_millis(2)),
        )
        .build()
        .unwrap()
}

/// Serves `GET api_path` with the first `cut` bytes of `content` once (an answer that
/// ends early without an error), and the whole of it after: a download then resumes.
pub async fn serve_cut_then_whole(server: &MockServer, api_path: &str, content: &[u8], cut: usize) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    Mock::given(method("GET"))
        .and(path(api_path))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content[..cut].to_vec()))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(api_path))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content.to_vec()))
        .expect(1)
        .mount(server)
        .await;
}

/// The SHA-512 of `bytes`, hex.
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(Sha512::digest(bytes))
}

/// A file object for `bytes`, with the SHA-512 the service would give. Its `downloadUrl`
/// points to another host, which must never be used.
pub fn file_object(id: &str, relative_path: &str, bytes: &[u8]) -> Value {
    let mut file = fixture("job_files.json")["results"][0].clone();
    file["id"] = json!(id);
    file["name"] = json!(relative_path.rsplit('/').next().unwrap());
    file["relativePath"] = json!(relative_path);
    file["decryptedSize"] = json!(bytes.len());
    file["md5"] = json!("00000000000000000000000000000000");
    file["fileChecksums"] = json!([{"hashFunction": "sha512", "fileHash": sha512_hex(bytes)}]);
    file["downloadUrl"] = json!(format!("https://elsewhere.example/files/{id}/contents/"));
    file
}

/// A `JobFile` from its JSON.
pub fn job_file(value: &Value) -> JobFile {
    serde_json::from_value(value.clone()).unwrap()
}

/// Every path under `root`, relative to it, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(&path, root, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A fake platform whose jobs move one status every `step`, and a client for it.
pub async fn fake_and_client(step: std::time::Duration) -> (rescale_fake::FakeRescale, Client) {
    let fake = rescale_fake::FakeRescale::start_with(rescale_fake::FakeConfig {
        step,
        ..rescale_fake::FakeConfig::default()
    })
    .await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .build()
        .expect("the fake's URL and key are valid");
    (fake, client)
}

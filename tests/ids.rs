//! Ids become exactly one path segment, whatever they hold: a property test over hostile
//! ids (dots, slashes, backslashes, percent signs, tabs, line breaks, NUL, DEL, any
//! Unicode), from the caller (`jobs.get`, `jobs.delete`) and from the service (a file
//! object's id, downloaded). Either the id is refused before anything is sent, or the
//! request path has exactly the expected segments and the id's segment decodes to it.

mod common;

use common::{KEY, file_object, job_file};
use proptest::prelude::*;
use rescale::{Client, Error, RetryPolicy, ThrottleConfig};
use wiremock::matchers::any as any_request;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Characters that have changed paths somewhere: dot segments, separators, escapes, and
/// what URL parsers drop or stop at.
const HOSTILE: &[char] = &[
    '.', '/', '\\', '%', '?', '#', ';', ' ', '\t', '\n', '\r', '\0', '\u{7f}', '\u{1b}', 'a', '2',
    'e', 'E', 'é', '\u{85}', '\u{2028}', '\u{ff0e}',
];

fn hostile_id() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(HOSTILE), 0..8)
            .prop_map(|chars| chars.into_iter().collect()),
        any::<String>(),
    ]
}

/// `%XX` escapes decoded; `None` when the bytes are not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
    client: Client,
}

impl Harness {
    fn new() -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(any_request())
                .respond_with(ResponseTemplate::new(404))
                .mount(&server)
                .await;
            server
        });
        let client = Client::builder()
            .token(KEY)
            .base_url(format!("{}/api/v2/", server.uri()))
            .retry(RetryPolicy::none())
            .throttle(ThrottleConfig::off())
            .build()
            .unwrap();
        Harness {
            runtime,
            server,
            client,
        }
    }

    /// Runs `call`, and returns its error and the path of the one request it sent, if any.
    fn sent<F>(&self, call: F) -> (Error, Option<String>)
    where
        F: std::future::Future<Output = Result<(), Error>>,
    {
        self.runtime.block_on(async {
            let before = self.server.received_requests().await.unwrap().len();
            let err = call
                .await
                .expect_err("the server answers 404 to everything");
            let after = self.server.received_requests().await.unwrap();
            let new = &after[before..];
            assert!(new.len() <= 1, "one call sent {} requests", new.len());
            (err, new.first().map(|r| r.url.path().to_owned()))
        })
    }
}

/// Asserts the outcome of one call with `id`: refused by name with nothing sent, or one
/// request whose path is `prefix` + the id as one segment + `suffix`.
fn check(
    (err, sent): (Error, Option<String>),
    id: &str,
    field: &str,
    prefix: &[&str],
    suffix: &[&str],
) {
    match sent {
        None => match &err {
            Error::InvalidInput { field: f, .. } => assert_eq!(f, field, "{id:?}: {err}"),
            other => panic!("{id:?}: nothing was sent, yet the error is {other:?}"),
        },
        Some(path) => {
            assert!(err.is_not_found(), "{id:?}: {err:?}");
            let segments: Vec<&str> = path.split('/').collect();
            let n = prefix.len();
            assert_eq!(
                segments.len(),
                n + 1 + suffix.len(),
                "{id:?} was sent as {path}"
            );
            assert_eq!(&segments[..n], prefix, "{id:?} was sent as {path}");
            assert_eq!(&segments[n + 1..], suffix, "{id:?} was sent as {path}");
            assert_eq!(
                percent_decode(segments[n]).as_deref(),
                Some(id),
                "{id:?} was sent as {path}"
            );
            assert!(
                !id.chars().any(|c| c.is_ascii_control()),
                "{id:?} holds a control character, yet was sent as {path}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn an_id_is_one_path_segment_or_refused_before_sending(id in hostile_id()) {
        thread_local! {
            static HARNESS: Harness = Harness::new();
        }
        HARNESS.with(|h| {
            let jobs = h.client.jobs();
            let job = ["", "api", "v2", "jobs"];
            check(h.sent(async { jobs.get(&id).await.map(drop) }), &id, "id", &job, &[""]);
            check(h.sent(jobs.delete(&id)), &id, "id", &job, &[""]);
            check(
                h.sent(async { jobs.statuses(&id).page(1).await.map(drop) }),
                &id,
                "id",
                &job,
                &["statuses", ""],
            );
            // An id from the service: a file object's.
            let mut object = file_object("F", "out.txt", b"x");
            object["id"] = serde_json::json!(id);
            let file = job_file(&object);
            let mut sink = Vec::new();
            check(
                h.sent(async { h.client.files().download(&file).to_writer(&mut sink).await.map(drop) }),
                &id,
                "file.id",
                &["", "api", "v2", "files"],
                &["contents", ""],
            );
        });
    }
}

#[test]
fn the_ids_of_the_issue_are_refused() {
    let h = Harness::new();
    for id in [".\t.", "a\tb", "a\nb", "a\rb", "..", "\u{7f}"] {
        let (err, sent) = h.sent(h.client.jobs().delete(id));
        assert_eq!(sent, None, "{id:?}");
        assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}: {err}");
    }
}

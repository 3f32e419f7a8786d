//! The crate over HTTPS: `rescale-fake` serves a self-signed certificate made at start, and
//! a client that trusts it (through `ClientBuilder::http_client`) runs a job end to end.
#![cfg(any(feature = "rustls", feature = "native-tls"))]

use std::time::Duration;

use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, JobOutcome, RetryPolicy};
use rescale_fake::{FakeConfig, FakeRescale};

async fn https_fake() -> FakeRescale {
    FakeRescale::start_https(FakeConfig {
        step: Duration::from_millis(5),
        large_output_size: 50_000,
        ..FakeConfig::default()
    })
    .await
}

/// A client that trusts the fake's certificate, as a user trusts a private CA.
fn trusting_client(fake: &FakeRescale) -> Client {
    let pem = fake
        .certificate_pem()
        .expect("an HTTPS fake has a certificate");
    let certificate = reqwest::Certificate::from_pem(pem.as_bytes()).expect("valid PEM");
    let http = reqwest::Client::builder()
        .add_root_certificate(certificate)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .http_client(http)
        .build()
        .expect("the fake's URL and key are valid")
}

#[tokio::test]
async fn a_job_runs_over_https_with_the_fakes_certificate_trusted() {
    let fake = https_fake().await;
    assert!(fake.base_url().starts_with("https://127.0.0.1:"));
    let client = trusting_client(&fake);
    let jobs = client.jobs();

    let new = NewJob::new(
        "over tls",
        vec![
            JobAnalysis::new(
                "user_included",
                "echo tls",
                Hardware::new("standard-plus", 1),
            )
            .version("0"),
        ],
    );
    let job = jobs.create(&new).await.expect("create over HTTPS");
    jobs.submit(&job.id).await.expect("submit over HTTPS");
    let outcome = jobs
        .wait_for_completion(&job.id)
        .poll_interval(Duration::from_millis(5))
        .await
        .expect("wait over HTTPS");
    assert!(
        matches!(outcome, JobOutcome::Succeeded { .. }),
        "{outcome:?}"
    );

    // Downloads follow the files' https `downloadUrl`s.
    let dir = tempfile::tempdir().unwrap();
    let report = client
        .files()
        .download_outputs(&job.id, dir.path())
        .await
        .expect("download over HTTPS");
    assert_eq!(report.downloaded.len(), 4);
    assert_eq!(
        std::fs::metadata(dir.path().join("results/data.bin"))
            .unwrap()
            .len(),
        50_000
    );
    assert_eq!(fake.request_count("POST jobs/"), 1);
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);
    assert_eq!(fake.request_count("GET files/{id}/contents/"), 4);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused_before_any_request() {
    let fake = https_fake().await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .jobs()
        .list()
        .page(1)
        .await
        .expect_err("an unknown certificate is refused");
    assert!(
        err.status().is_none(),
        "a TLS failure, not an HTTP answer: {err}"
    );
    assert!(fake.requests().is_empty(), "no request got through");
}

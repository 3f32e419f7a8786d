//! The crate over HTTPS: `rescale-fake` serves a self-signed certificate made at start, and
//! a client that trusts it (through `ClientBuilder::add_root_certificate`, or a
//! `reqwest::Client` of one's own given to `ClientBuilder::http_client`) runs a job end to end.
#![cfg(any(feature = "rustls", feature = "native-tls"))]

use std::time::Duration;

use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, ClientBuilder, Error, JobOutcome, RetryPolicy};
use rescale_fake::{FakeConfig, FakeRescale};

async fn https_fake() -> FakeRescale {
    FakeRescale::start_https(FakeConfig {
        step: Duration::from_millis(5),
        large_output_size: 50_000,
        ..FakeConfig::default()
    })
    .await
}

fn certificate(fake: &FakeRescale) -> reqwest::Certificate {
    let pem = fake
        .certificate_pem()
        .expect("an HTTPS fake has a certificate");
    reqwest::Certificate::from_pem(pem.as_bytes()).expect("valid PEM")
}

/// A builder pointed at the fake, with its key.
fn builder(fake: &FakeRescale) -> ClientBuilder {
    Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
}

/// A client that trusts the fake's certificate through the builder, as a user trusts a
/// private CA.
fn trusting_client(fake: &FakeRescale) -> Client {
    builder(fake)
        .add_root_certificate(certificate(fake))
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
async fn a_client_of_ones_own_that_trusts_the_certificate_lists_over_https() {
    let fake = https_fake().await;
    fake.seed_jobs(3);
    let http = reqwest::Client::builder()
        .add_root_certificate(certificate(&fake))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let client = builder(&fake)
        .http_client(http)
        .build()
        .expect("the fake's URL and key are valid");
    let page = client.jobs().list().page(1).await.expect("list over HTTPS");
    assert_eq!(page.results.len(), 3);
    assert_eq!(fake.request_count("GET jobs/"), 1);
}

#[tokio::test]
async fn every_certificate_added_is_trusted() {
    let (first, second) = (https_fake().await, https_fake().await);
    for fake in [&first, &second] {
        let client = builder(fake)
            .add_root_certificate(certificate(&first))
            .add_root_certificate(certificate(&second))
            .build()
            .expect("the fake's URL and key are valid");
        client.jobs().list().page(1).await.expect("list over HTTPS");
        assert_eq!(fake.request_count("GET jobs/"), 1);
    }
}

#[tokio::test]
async fn a_certificate_and_a_client_of_ones_own_are_refused_together_naming_both() {
    let fake = https_fake().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let err = builder(&fake)
        .add_root_certificate(certificate(&fake))
        .http_client(http)
        .build()
        .expect_err("the certificate would not apply to the given client");
    assert!(
        matches!(&err, Error::Config(m)
            if m.contains("ClientBuilder::add_root_certificate")
                && m.contains("ClientBuilder::http_client")),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_gets_a_transport_error_naming_the_host() {
    let fake = https_fake().await;
    let client = builder(&fake).retry(RetryPolicy::none()).build().unwrap();
    let err = client
        .jobs()
        .list()
        .page(1)
        .await
        .expect_err("an unknown certificate is refused");
    let host = format!("127.0.0.1:{}", fake.local_addr().port());
    assert!(
        matches!(&err, Error::Transport { message, .. } if message.contains(&host)),
        "a TLS failure naming {host}, not an HTTP answer: {err:?}"
    );
    assert!(err.status().is_none(), "{err}");
    assert!(fake.requests().is_empty(), "no request got through");
}

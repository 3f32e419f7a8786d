//! The network the fake simulates: latency on new connections, and a graceful stop. Times
//! here are tokio's paused clock, so the assertions hold on any machine.

mod common;

use std::time::Duration;

use common::Api;
use rescale_fake::FakeConfig;
use tokio::time::Instant;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn connect_latency_delays_new_connections_only() {
    let api = Api::with(FakeConfig {
        connect_latency: HOUR,
        ..FakeConfig::default()
    })
    .await;
    let first = Instant::now();
    assert_eq!(api.get("jobs/").await.0, 200);
    assert!(first.elapsed() >= HOUR, "a new connection waits");

    let pooled = Instant::now();
    assert_eq!(api.get("jobs/").await.0, 200);
    assert!(pooled.elapsed() < HOUR, "an open connection does not");

    api.fake.set_connect_latency(Duration::ZERO);
    let fresh = reqwest::Client::new();
    let started = Instant::now();
    let resp = fresh.get(api.url("jobs/")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(started.elapsed() < HOUR, "the knob turns it off");
    assert_eq!(api.fake.request_count("GET jobs/"), 3);
}

#[tokio::test]
async fn connections_are_counted_as_accepted() {
    let api = Api::with(FakeConfig::default()).await;
    assert_eq!(api.fake.connection_count(), 0);
    for _ in 0..3 {
        assert_eq!(api.get("jobs/").await.0, 200);
    }
    assert_eq!(api.fake.connection_count(), 1, "one pooled connection");
    let fresh = reqwest::Client::new();
    let resp = fresh.get(api.url("jobs/")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        api.fake.connection_count(),
        2,
        "a second client, a second connection"
    );
    assert_eq!(api.fake.request_count("GET jobs/"), 4);
}

#[tokio::test(start_paused = true)]
async fn response_latency_from_the_config_applies_to_every_request() {
    let api = Api::with(FakeConfig {
        latency: HOUR,
        ..FakeConfig::default()
    })
    .await;
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(api.get("jobs/").await.0, 200);
        assert!(started.elapsed() >= HOUR);
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_the_request_in_flight_then_refuses_connections() {
    let api = Api::with(FakeConfig {
        latency: Duration::from_secs(1),
        ..FakeConfig::default()
    })
    .await;
    let addr = api.fake.local_addr();
    let request = api.request(reqwest::Method::GET, "jobs/").send();
    let in_flight = tokio::spawn(request);
    // Wait (in virtual time) until the fake has the request.
    while api.fake.requests().is_empty() {
        tokio::task::yield_now().await;
    }
    api.fake.shutdown().await;
    let resp = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(resp.status(), 200);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections once stopped"
    );
}

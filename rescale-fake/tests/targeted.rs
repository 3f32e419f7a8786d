//! Faults aimed at one endpoint, answers lost after the request was carried out, and
//! arrival times.

mod common;

use common::{Api, job_request};
use rescale_fake::{Aim, Fault};

/// The status of a create whose answer may not be JSON.
async fn create_status(api: &Api, name: &str) -> u16 {
    let resp = api
        .request(reqwest::Method::POST, "jobs/")
        .json(&job_request(name, "echo"))
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

#[tokio::test]
async fn an_aimed_fault_strikes_only_its_endpoint() {
    let api = Api::new().await;
    api.fake
        .aim_fault("POST jobs/", Aim::Instead(Fault::ServiceUnavailable), 1);
    // Other endpoints are not affected.
    assert_eq!(api.get("jobs/").await.0, 200);
    // The create is refused and not carried out.
    assert_eq!(create_status(&api, "a").await, 503);
    let (_, page) = api.get("jobs/").await;
    assert_eq!(page["count"], 0);
    // The aim is spent.
    api.create_job("b", "echo").await;
}

#[tokio::test]
async fn a_lost_answer_comes_after_the_request_was_carried_out() {
    let api = Api::new().await;
    api.fake
        .aim_fault("POST jobs/", Aim::AnswerLost(Fault::GatewayTimeout), 1);
    assert_eq!(create_status(&api, "a").await, 504);
    let (_, page) = api.get("jobs/").await;
    assert_eq!(page["count"], 1, "the job was created");
    let id = page["results"][0]["id"].as_str().unwrap().to_owned();

    api.fake.aim_fault(
        "POST jobs/{id}/submit/",
        Aim::AnswerLost(Fault::DropConnection),
        1,
    );
    let sent = api
        .request(reqwest::Method::POST, &format!("jobs/{id}/submit/"))
        .send()
        .await;
    assert!(sent.is_err(), "the connection was dropped");
    assert!(!api.statuses(&id).await.is_empty(), "the job was submitted");
}

#[tokio::test]
async fn request_times_follow_arrival_order() {
    let api = Api::new().await;
    for _ in 0..3 {
        api.get("jobs/").await;
    }
    api.get("files/").await;
    let times = api.fake.request_times();
    assert_eq!(times.len(), 4);
    assert!(times.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(times[3].endpoint, "GET files/");
    assert_eq!(times[3].status, 200);
}

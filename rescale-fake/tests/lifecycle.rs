//! Submit, statuses on the clock, failure, stop, delete rules, outputs and runs.

mod common;

use std::time::Duration;

use common::Api;
use md5::Md5;
use reqwest::Method;
use rescale_fake::FakeConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

fn names(statuses: &[(String, Value)]) -> Vec<&str> {
    statuses.iter().map(|s| s.0.as_str()).collect()
}

#[tokio::test]
async fn submitted_job_runs_to_completion() {
    let api = Api::new().await;
    let id = api.create_job("runs", "echo hello").await;

    let (status, body) = api.get(&format!("jobs/{id}/cluster_statuses/")).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"detail": "Not found."}));

    let resp = api
        .request(Method::POST, &format!("jobs/{id}/submit/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().is_empty());

    let statuses = api.wait_completed(&id).await;
    assert_eq!(
        names(&statuses),
        vec![
            "Completed",
            "Executing",
            "Validated",
            "Started",
            "Queued",
            "Waiting for Queue",
            "Pending"
        ]
    );
    assert_eq!(statuses[0].1, "Completed successfully");
    assert!(statuses[1..].iter().all(|s| s.1.is_null()));

    let (_, page) = api.get(&format!("jobs/{id}/statuses/")).await;
    let date = page["results"][0]["statusDate"].as_str().unwrap();
    assert!(date.ends_with('Z'), "{date}");
    assert_eq!(date.len(), "2016-04-21T17:24:34.898495Z".len(), "{date}");
    assert!(chrono::DateTime::parse_from_rfc3339(date).is_ok());

    api.wait_cluster_stopped(&id).await;
    let (status, page) = api.get(&format!("jobs/{id}/cluster_statuses/")).await;
    assert_eq!(status, 200);
    let cluster: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        cluster,
        vec![
            "Stopped",
            "Stopping",
            "Stop Requested",
            "Started",
            "Starting",
            "Not Started"
        ]
    );
    let date = page["results"][0]["statusDate"].as_str().unwrap();
    assert!(date.ends_with("+00:00"), "{date}");

    let (_, list) = api.get("jobs/?state=completed").await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["jobStatus"]["content"], "Completed");
    assert_eq!(
        list["results"][0]["clusterStatusDisplay"]["content"],
        "Stopped"
    );
    assert!(list["results"][0]["storage"].as_u64().unwrap() > 100_000);

    // Re-submitting a completed job changes nothing.
    let resp = api
        .request(Method::POST, &format!("jobs/{id}/submit/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(api.statuses(&id).await.len(), 7);

    // PATCH of a completed job answers 200 and changes nothing.
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("jobs/{id}/"),
            Some(json!({"name": "late"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": id, "name": "runs"}));

    let resp = api
        .request(Method::DELETE, &format!("jobs/{id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(api.fake.request_count("POST jobs/{id}/submit/"), 2);
}

#[tokio::test]
async fn progresses_without_requests() {
    let api = Api::new().await;
    let id = api.create_job("clock", "echo").await;
    let (status, _) = api.post(&format!("jobs/{id}/submit/"), json!({})).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let statuses = api.statuses(&id).await;
    assert_eq!(statuses[0].0, "Completed");
    assert_eq!(api.fake.request_count("GET jobs/{id}/statuses/"), 1);
}

#[tokio::test]
async fn statuses_appear_one_step_at_a_time() {
    let api = Api::with(FakeConfig {
        step: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .await;
    let id = api.create_job("slow", "echo").await;
    api.post(&format!("jobs/{id}/submit/"), json!({})).await;
    let statuses = api.statuses(&id).await;
    assert_eq!(names(&statuses), vec!["Pending"]);
    let (_, list) = api.get("jobs/?state=not_completed").await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["jobStatus"]["content"], "Pending");
    assert_eq!(
        list["results"][0]["clusterStatusDisplay"]["content"],
        "Not Started"
    );
    let (status, page) = api.get(&format!("jobs/{id}/cluster_statuses/")).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 1);
    let (_, runs) = api.get(&format!("jobs/{id}/runs/")).await;
    assert_eq!(runs["count"], 0);
    assert_eq!(api.get(&format!("jobs/{id}/runs/1/")).await.0, 404);
}

#[tokio::test]
async fn exit_1_ends_with_a_failed_run() {
    let api = Api::new().await;
    let id = api.create_job("fails", "./run.sh && exit 1").await;
    api.post(&format!("jobs/{id}/submit/"), json!({})).await;
    let statuses = api.wait_completed(&id).await;
    assert_eq!(statuses[0].0, "Completed");
    assert_eq!(statuses[0].1, "A run failed");
    assert_eq!(statuses[1].0, "Stopping");
    assert_eq!(statuses[2].0, "Executing");
    assert_eq!(statuses.len(), 8);
}

#[tokio::test]
async fn running_job_cannot_be_deleted_until_stopped() {
    let api = Api::with(FakeConfig {
        step: Duration::from_millis(40),
        large_output_size: 1000,
        ..FakeConfig::default()
    })
    .await;
    let id = api.create_job("stop me", "sleep 100").await;
    api.post(&format!("jobs/{id}/submit/"), json!({})).await;

    let (status, body) = api.call(Method::DELETE, &format!("jobs/{id}/"), None).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("cluster"),
        "{body}"
    );

    let resp = api
        .request(Method::POST, &format!("jobs/{id}/stop/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert!(resp.bytes().await.unwrap().is_empty());
    let (status, _) = api
        .call(Method::POST, &format!("jobs/{id}/stop/"), None)
        .await;
    assert_eq!(status, 202);

    let statuses = api.wait_completed(&id).await;
    assert_eq!(
        statuses.iter().filter(|s| s.0 == "Stopping").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses[0].0, "Completed");
    assert_eq!(statuses[0].1, "User Terminated");
    assert_eq!(statuses[1].0, "Stopping");
    assert_eq!(statuses.last().unwrap().0, "Pending");
    assert!(!names(&statuses).contains(&"Executing"));

    api.wait_cluster_stopped(&id).await;
    let (_, page) = api.get(&format!("jobs/{id}/cluster_statuses/")).await;
    assert_eq!(page["results"][1]["status"], "Stopping");
    assert_eq!(page["results"][2]["status"], "Stop Requested");

    let (status, _) = api.call(Method::DELETE, &format!("jobs/{id}/"), None).await;
    assert_eq!(status, 204);
    assert_eq!(api.fake.request_count("POST jobs/{id}/stop/"), 2);
    assert_eq!(api.fake.request_count("DELETE jobs/{id}/"), 2);
}

#[tokio::test]
async fn completed_job_has_outputs_and_a_run() {
    let api = Api::new().await;
    let id = api.create_job("outputs", "echo out").await;
    api.post(&format!("jobs/{id}/submit/"), json!({})).await;
    api.wait_completed(&id).await;

    let (status, page) = api.get(&format!("jobs/{id}/files/")).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 4);
    let files = page["results"].as_array().unwrap();
    let paths: Vec<&str> = files
        .iter()
        .map(|f| f["relativePath"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![
            "stdout.txt",
            "output/log.txt",
            "results/data.bin",
            "results/summary.csv"
        ]
    );
    assert!(files.iter().all(|f| f["typeId"] == 5));
    let large = files.iter().find(|f| f["name"] == "data.bin").unwrap();
    assert_eq!(large["decryptedSize"], 100_000);
    let file_id = large["id"].as_str().unwrap();
    assert_eq!(
        large["downloadUrl"],
        format!("{}files/{file_id}/contents/", api.base)
    );

    let resp = api
        .request(Method::GET, &format!("files/{file_id}/contents/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "100000");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len(), 100_000);
    assert_eq!(large["md5"], hex::encode(Md5::digest(&bytes)));
    assert_eq!(
        large["fileChecksums"],
        json!([{"hashFunction": "sha512", "fileHash": hex::encode(Sha512::digest(&bytes))}])
    );
    // Deterministic content: the same for every completed job.
    let (_, again) = api.get(&format!("files/{file_id}/")).await;
    assert_eq!(again["md5"], large["md5"]);

    let stdout = files.iter().find(|f| f["name"] == "stdout.txt").unwrap();
    let text = api
        .request(
            Method::GET,
            &format!("files/{}/contents/", stdout["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "$ echo out\nCompleted successfully\n");

    let (_, found) = api.get(&format!("jobs/{id}/files/?search=LOG")).await;
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["relativePath"], "output/log.txt");

    let (status, runs) = api.get(&format!("jobs/{id}/runs/")).await;
    assert_eq!(status, 200);
    assert_eq!(runs["count"], 1);
    let run = &runs["results"][0];
    assert_eq!(run["id"], "1");
    assert_eq!(run["displayOrder"], 1);
    assert_eq!(run["type"], 3);
    assert_eq!(run["outputFileCount"], 4);
    assert_eq!(run["isOptimal"], false);
    assert!(run["dateCompleted"].is_string());
    let (status, one) = api.get(&format!("jobs/{id}/runs/1/")).await;
    assert_eq!(status, 200);
    assert_eq!(&one, run);
    assert_eq!(api.get(&format!("jobs/{id}/runs/2/")).await.0, 404);
    let (status, run_files) = api
        .get(&format!("jobs/{id}/runs/1/files/?page_size=2"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(run_files["count"], 4);
    assert_eq!(run_files["results"].as_array().unwrap().len(), 2);
    assert_eq!(run_files["results"][0], files[0]);
    assert_eq!(api.fake.request_count("GET jobs/{id}/runs/{run}/"), 2);
    assert_eq!(api.fake.request_count("GET jobs/{id}/runs/{run}/files/"), 1);
    assert_eq!(api.fake.request_count("GET files/{id}/contents/"), 2);

    // Deleting the job deletes its outputs.
    api.wait_cluster_stopped(&id).await;
    assert_eq!(
        api.call(Method::DELETE, &format!("jobs/{id}/"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.get(&format!("files/{file_id}/")).await.0, 404);
}

#[tokio::test]
async fn default_config_end_to_end() {
    let fake = rescale_fake::FakeRescale::start().await;
    let api = Api {
        base: fake.base_url(),
        key: fake.api_key(),
        fake,
        http: reqwest::Client::new(),
    };
    let id = api.create_job("defaults", "echo").await;
    api.post(&format!("jobs/{id}/submit/"), json!({})).await;
    api.wait_completed(&id).await;
    let (_, page) = api.get(&format!("jobs/{id}/files/?search=data")).await;
    assert_eq!(page["count"], 1);
    let large = &page["results"][0];
    assert_eq!(large["decryptedSize"], 3 * 1024 * 1024);
    let url = large["downloadUrl"].as_str().unwrap();
    let resp = api
        .http
        .get(url)
        .header("Authorization", format!("Bearer {}", api.key))
        .header("Range", "bytes=3145000-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()["content-range"],
        "bytes 3145000-3145727/3145728"
    );
    assert_eq!(resp.bytes().await.unwrap().len(), 728);
}

#[tokio::test]
async fn dropping_the_fake_stops_the_server() {
    let api = Api::new().await;
    let url = api.url("analyses/");
    assert_eq!(api.get("analyses/").await.0, 200);
    drop(api);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let result = reqwest::Client::new().get(url).send().await;
    assert!(result.is_err());
}

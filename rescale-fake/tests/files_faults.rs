//! Upload, download with ranges, chunked refusal, injected faults, latency.

mod common;

use std::time::{Duration, Instant};

use common::Api;
use md5::Md5;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rescale_fake::Fault;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn upload(api: &Api, name: &str, data: Vec<u8>) -> (u16, Value) {
    let form = Form::new().part("file", Part::bytes(data).file_name(name.to_owned()));
    let resp = api
        .request(Method::POST, "files/contents/")
        .multipart(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn upload_then_download_the_same_bytes() {
    let api = Api::new().await;
    let data = sample(70_000);
    let (status, file) = upload(&api, "mesh.dat", data.clone()).await;
    assert_eq!(status, 201, "{file}");
    let id = file["id"].as_str().unwrap();
    assert_eq!(id.len(), 6);
    assert_eq!(file["typeId"], 1);
    assert_eq!(file["name"], "mesh.dat");
    assert_eq!(file["relativePath"], "mesh.dat");
    assert_eq!(file["decryptedSize"], 70_000);
    assert_eq!(file["isUploaded"], true);
    assert_eq!(file["isDeleted"], false);
    assert_eq!(file["owner"], "user@example.com");
    assert_eq!(file["md5"], hex::encode(Md5::digest(&data)));
    assert_eq!(
        file["fileChecksums"],
        json!([{"hashFunction": "sha512", "fileHash": hex::encode(Sha512::digest(&data))}])
    );
    assert_eq!(
        file["downloadUrl"],
        format!("{}files/{id}/contents/", api.base)
    );
    assert!(file["path"].as_str().unwrap().contains("mesh.dat"));
    assert!(file["dateUploaded"].as_str().unwrap().ends_with('Z'));

    let (status, meta) = api.get(&format!("files/{id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(meta, file);

    let resp = api
        .request(Method::GET, &format!("files/{id}/contents/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "70000");
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), data.as_slice());

    let (status, list) = api.get("files/").await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], id);

    let added = api.fake.add_file("direct.txt", b"direct".to_vec());
    let body = api
        .request(Method::GET, &format!("files/{added}/contents/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), b"direct");
    assert_eq!(api.fake.request_count("POST files/contents/"), 1);
    assert_eq!(api.fake.request_count("GET files/{id}/contents/"), 2);
    assert_eq!(api.fake.request_count("GET files/{id}/"), 1);
}

#[tokio::test]
async fn ranged_downloads() {
    let api = Api::new().await;
    let data = sample(1000);
    let id = api.fake.add_file("r.bin", data.clone());
    let rel = format!("files/{id}/contents/");

    for (range, from, to) in [
        ("bytes=100-", 100, 999),
        ("bytes=5-9", 5, 9),
        ("bytes=990-5000", 990, 999),
        ("bytes=-10", 990, 999),
    ] {
        let resp = api
            .request(Method::GET, &rel)
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes {from}-{to}/1000").as_str(),
            "{range}"
        );
        assert_eq!(
            resp.headers()["content-length"],
            (to - from + 1).to_string().as_str()
        );
        assert_eq!(
            resp.bytes().await.unwrap().as_ref(),
            &data[from..=to],
            "{range}"
        );
    }

    let resp = api
        .request(Method::GET, &rel)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");

    let requests = api.fake.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[0].range.as_deref(), Some("bytes=100-"));
    assert_eq!(requests[0].status, 206);
    assert_eq!(requests[4].status, 416);
    assert_eq!(requests[4].range.as_deref(), Some("bytes=1000-"));
}

#[tokio::test]
async fn chunked_or_empty_uploads_are_refused() {
    let api = Api::new().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(b"abc".to_vec()), Ok(b"def".to_vec())];
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let form = Form::new().part("file", Part::stream(stream).file_name("streamed.txt"));
    let resp = api
        .request(Method::POST, "files/contents/")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 411);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Length required."}));

    let form = Form::new().text("other", "value");
    let resp = api
        .request(Method::POST, "files/contents/")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"file": ["No file was submitted."]}));

    let (_, list) = api.get("files/").await;
    assert_eq!(list["count"], 0);
    let statuses: Vec<u16> = api.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![411, 400, 200]);
}

#[tokio::test]
async fn throttling_fault_for_n_calls() {
    let api = Api::new().await;
    api.fake.inject_fault(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        2,
    );
    for _ in 0..2 {
        let resp = api.request(Method::GET, "jobs/").send().await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"detail": "Request was throttled. Expected available in 7 seconds."})
        );
    }
    assert_eq!(api.get("jobs/").await.0, 200);
    let statuses: Vec<u16> = api.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
}

#[tokio::test]
async fn proxy_faults_answer_html() {
    let api = Api::new().await;
    api.fake.inject_fault(Fault::ServiceUnavailable, 1);
    api.fake.inject_fault(Fault::GatewayTimeout, 1);

    let resp = api.request(Method::GET, "coretypes/").send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("503 Service Unavailable")
    );

    let id = "abcde";
    let resp = api
        .request(Method::GET, &format!("jobs/{id}/statuses/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 504);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        resp.text().await.unwrap(),
        "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    );
    assert_eq!(api.get("coretypes/").await.0, 200);
    assert_eq!(api.fake.request_count("GET coretypes/"), 2);
    assert_eq!(api.fake.request_count("GET jobs/{id}/statuses/"), 1);
}

#[tokio::test]
async fn faults_precede_auth_and_routing() {
    let api = Api::new().await;
    api.fake.inject_fault(Fault::ServiceUnavailable, 1);
    let resp = reqwest::get(api.url("jobs")).await.unwrap();
    assert_eq!(resp.status(), 503);
    let resp = reqwest::get(api.url("jobs")).await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let api = Api::new().await;
    api.fake.inject_fault(Fault::DropConnection, 2);
    for _ in 0..2 {
        let result = api.request(Method::GET, "jobs/").send().await;
        let err = result.expect_err("the connection is dropped");
        assert!(!err.is_status(), "{err}");
    }
    assert_eq!(api.get("jobs/").await.0, 200);
    let statuses: Vec<u16> = api.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![0, 0, 200]);
    assert_eq!(api.fake.request_count("GET jobs/"), 3);
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let api = Api::new().await;
    api.fake.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(api.get("analyses/").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    api.fake.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(api.get("analyses/").await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(150));
}

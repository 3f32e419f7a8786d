//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use rescale_fake::{FakeConfig, FakeRescale};
use serde_json::{Value, json};

/// A fake plus an authenticated client.
pub struct Api {
    pub fake: FakeRescale,
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub async fn new() -> Api {
        Self::with(FakeConfig {
            step: Duration::from_millis(5),
            large_output_size: 100_000,
            ..FakeConfig::default()
        })
        .await
    }

    pub async fn with(config: FakeConfig) -> Api {
        let fake = FakeRescale::start_with(config).await;
        Api {
            base: fake.base_url(),
            key: fake.api_key(),
            fake,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, rel: &str) -> String {
        format!("{}{rel}", self.base)
    }

    pub fn request(&self, method: reqwest::Method, rel: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(rel))
            .header("Authorization", format!("Token {}", self.key))
    }

    /// Sends and returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        rel: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send_json(self.request(method, rel), body).await
    }

    pub async fn get(&self, rel: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, rel, None).await
    }

    pub async fn post(&self, rel: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, rel, Some(body)).await
    }

    /// Creates a job running `command` and returns its id.
    pub async fn create_job(&self, name: &str, command: &str) -> String {
        let (status, job) = self.post("jobs/", job_request(name, command)).await;
        assert_eq!(status, 201, "{job}");
        job["id"].as_str().expect("id").to_owned()
    }

    /// Status names of a job, newest first.
    pub async fn statuses(&self, id: &str) -> Vec<(String, Value)> {
        let (status, page) = self
            .get(&format!("jobs/{id}/statuses/?page_size=100"))
            .await;
        assert_eq!(status, 200);
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["status"].as_str().unwrap().to_owned(),
                    e["statusReason"].clone(),
                )
            })
            .collect()
    }

    /// Polls until the cluster of a job is Stopped (bounded).
    pub async fn wait_cluster_stopped(&self, id: &str) {
        for _ in 0..400 {
            let (status, page) = self.get(&format!("jobs/{id}/cluster_statuses/")).await;
            if status == 200 && page["results"][0]["status"] == "Stopped" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("cluster of {id} did not stop");
    }

    /// Polls until the job is Completed (bounded) and returns its statuses, newest first.
    pub async fn wait_completed(&self, id: &str) -> Vec<(String, Value)> {
        for _ in 0..400 {
            let statuses = self.statuses(id).await;
            if statuses.first().is_some_and(|s| s.0 == "Completed") {
                return statuses;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("job {id} did not complete");
    }
}

/// Sends `req` (with `body` as JSON, if any) and returns the status and the JSON body
/// (`Null` when empty).
pub async fn send_json(mut req: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("json body")
    };
    (status, value)
}

/// A minimal valid job definition.
pub fn job_request(name: &str, command: &str) -> Value {
    json!({
        "name": name,
        "jobanalyses": [{
            "analysis": { "code": "user_included", "version": "0" },
            "command": command,
            "hardware": { "coreType": "standard-plus", "coresPerSlot": 1 }
        }]
    })
}

/// The path of a solver's log tail, last line only (`GET jobs/{id}/runs/1/tail/...`).
pub fn solver_tail(job: &str) -> String {
    format!("jobs/{job}/runs/1/tail/{}/?lines=1", rescale_fake::LOG_PATH)
}

/// The iteration (`Time = N ...`) of the last log line in a [`solver_tail`] answer; `None`
/// while the run is not in progress (the server answers 400 then) and while its log has no
/// line yet (the first `line_every` of the run: an empty `lines`).
pub fn solver_iteration(status: u16, body: &Value) -> Option<u64> {
    if status == 400 {
        return None;
    }
    assert_eq!(status, 200, "{body}");
    let lines = body["lines"].as_array().expect("a list of lines");
    let line = lines.first()?.as_str().expect("a log line");
    let n = line
        .strip_prefix("Time = ")
        .and_then(|rest| rest.split_whitespace().next());
    Some(
        n.and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a solver line: {line}")),
    )
}

//! The `rescale-fake` binary as a process: started, called over HTTP, stopped by a signal,
//! restarted on its state file. It says it is up by printing its URL and key on stdout, so
//! nothing here waits on a clock.
#![cfg(feature = "cli")]

mod common;

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// Guards against a hang only.
const PATIENCE: Duration = Duration::from_secs(120);

struct Server {
    child: Child,
    url: String,
    key: String,
    http: reqwest::Client,
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rescale-fake"));
    cmd.args(args)
        .env_remove("RESCALE_FAKE_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

impl Server {
    /// Starts the binary and reads its first two lines: the base URL and the key.
    async fn start(args: &[&str]) -> Server {
        let mut child = command(args).spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut line = async || {
            tokio::time::timeout(PATIENCE, lines.next_line())
                .await
                .expect("the server prints its URL and key")
                .expect("stdout is readable")
                .expect("a line before stdout closes")
        };
        let url = line().await;
        let key = line().await;
        Server {
            child,
            url,
            key,
            http: reqwest::Client::new(),
        }
    }

    fn request(&self, method: reqwest::Method, rel: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{rel}", self.url))
            .header("Authorization", format!("Token {}", self.key))
    }

    async fn json(&self, method: reqwest::Method, rel: &str, body: Option<Value>) -> (u16, Value) {
        common::send_json(self.request(method, rel), body).await
    }

    async fn get(&self, rel: &str) -> (u16, Value) {
        self.json(reqwest::Method::GET, rel, None).await
    }

    async fn bytes(&self, rel: &str) -> Vec<u8> {
        let resp = self
            .request(reqwest::Method::GET, rel)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap().to_vec()
    }

    /// Sends `signal` (`INT` as Ctrl-C does, `TERM` as a service manager does) and waits
    /// for the process to end.
    async fn stop(mut self, signal: &str) -> ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success());
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the server stops on the signal")
            .expect("wait")
    }
}

/// The output files of a job: `(relativePath, id)`, sorted.
async fn outputs(server: &Server, job: &str) -> Vec<(String, String)> {
    let (status, page) = server
        .get(&format!("jobs/{job}/files/?page_size=100"))
        .await;
    assert_eq!(status, 200, "{page}");
    let mut files: Vec<(String, String)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["relativePath"].as_str().unwrap().to_owned();
            (path, f["id"].as_str().unwrap().to_owned())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn serves_over_http_stops_on_a_signal_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fake.json");
    let state_arg = state.to_str().unwrap();
    let args = [
        "--port",
        "0",
        "--seed",
        "3",
        "--state",
        state_arg,
        "--step",
        "5ms",
        "--large-output-size",
        "1000",
    ];
    let server = Server::start(&args).await;
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    assert!(server.url.ends_with("/api/v2/"), "{}", server.url);
    assert!(
        !server.url.contains(":0/"),
        "--port 0 prints the port it got"
    );
    assert_eq!(server.key.len(), 40);

    // Seeded jobs to list; the key is required.
    let (status, page) = server.get("jobs/").await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 3);
    let anonymous = reqwest::get(format!("{}jobs/", server.url)).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let seeded = page["results"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        outputs(&server, &seeded).await.len(),
        4,
        "seeded jobs have outputs"
    );

    // A job created, submitted and run to completion, as separate calls.
    let (status, job) = server
        .json(
            reqwest::Method::POST,
            "jobs/",
            Some(common::job_request("kept", "echo kept")),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .json(reqwest::Method::POST, &format!("jobs/{id}/submit/"), None)
        .await;
    assert_eq!(status, 200);
    let mut done = false;
    for _ in 0..2000 {
        let (_, page) = server.get(&format!("jobs/{id}/statuses/")).await;
        if page["results"][0]["status"] == "Completed" {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(done, "job {id} completes");
    let files = outputs(&server, &id).await;
    assert_eq!(files.len(), 4);
    let stdout_id = &files.iter().find(|f| f.0 == "stdout.txt").unwrap().1;
    let stdout = server.bytes(&format!("files/{stdout_id}/contents/")).await;
    let data_id = &files.iter().find(|f| f.0 == "results/data.bin").unwrap().1;
    let data = server.bytes(&format!("files/{data_id}/contents/")).await;
    assert_eq!(data.len(), 1000);

    let key = server.key.clone();
    let exit = server.stop("INT").await;
    assert!(exit.success(), "{exit:?}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains(&id), "the state file holds the job");

    // Restarted on the same file: the same key, jobs, statuses, files and bytes. `--seed`
    // does not add jobs to a state that exists.
    let server = Server::start(&args).await;
    assert_eq!(server.key, key, "the key is kept in the state file");
    let (_, page) = server.get("jobs/").await;
    assert_eq!(page["count"], 4);
    let (status, job) = server.get(&format!("jobs/{id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(job["name"], "kept");
    let (_, history) = server.get(&format!("jobs/{id}/statuses/")).await;
    assert_eq!(history["results"][0]["status"], "Completed");
    assert_eq!(
        history["results"][0]["statusReason"],
        "Completed successfully"
    );
    assert_eq!(outputs(&server, &id).await, files);
    assert_eq!(
        server.bytes(&format!("files/{stdout_id}/contents/")).await,
        stdout
    );
    assert_eq!(
        server.bytes(&format!("files/{data_id}/contents/")).await,
        data
    );
    assert_eq!(outputs(&server, &seeded).await.len(), 4);
    assert!(server.stop("TERM").await.success());
}

/// Runs the binary to its end and returns its exit status and stderr.
async fn run_to_end(args: &[&str]) -> (ExitStatus, String) {
    let mut child = command(args).spawn().expect("the binary starts");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("the binary ends by itself")
        .unwrap();
    (status, stderr)
}

#[tokio::test]
async fn bad_flags_a_busy_port_and_a_bad_state_file_fail_clearly() {
    let (status, stderr) = run_to_end(&["--port", "0", "--step", "fast"]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("--step") && stderr.contains("fast"),
        "{stderr}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (status, stderr) = run_to_end(&["--port", &port]).await;
    assert!(!status.success());
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("broken.json");
    std::fs::write(&state, "not json").unwrap();
    let (status, stderr) = run_to_end(&["--port", "0", "--state", state.to_str().unwrap()]).await;
    assert!(!status.success());
    assert!(stderr.contains("broken.json"), "{stderr}");
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn serves_https_with_the_certificate_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let mut server = Server::start(&[
        "--port",
        "0",
        "--seed",
        "2",
        "--https",
        cert.to_str().unwrap(),
    ])
    .await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let pem = std::fs::read(&cert).expect("the certificate is written before the URL is printed");
    server.http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let (status, page) = server.get("jobs/").await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 2);
    let untrusting = reqwest::Client::new()
        .get(format!("{}jobs/", server.url))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "a client that does not trust it is refused"
    );
    assert!(server.stop("INT").await.success());
}

/// The iteration of the last line of a solver's log, once its run is in progress.
async fn last_iteration(server: &Server, job: &str) -> Option<u64> {
    let (status, body) = server.get(&common::solver_tail(job)).await;
    common::solver_iteration(status, &body)
}

#[tokio::test]
async fn starts_solvers_and_caps_job_hours_from_its_flags() {
    let args = [
        "--port",
        "0",
        "--step",
        "5ms",
        "--solvers",
        "1",
        "--solver-lines",
        "100000",
        "--solver-line-every",
        "10ms",
        "--max-job-hours",
        "5",
    ];
    let server = Server::start(&args).await;

    let (status, me) = server.get("users/me/").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["maxJobHours"], 5);

    let (status, page) = server.get("jobs/").await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 1, "one solver job: {page}");
    let job = page["results"][0]["id"].as_str().unwrap().to_owned();

    // The log grows: wait (on the condition, guarded against a hang) for a line, then for
    // a later one.
    let grown = tokio::time::timeout(PATIENCE, async {
        let mut first = None;
        loop {
            if let Some(n) = last_iteration(&server, &job).await {
                match first {
                    None => first = Some(n),
                    Some(f) if n > f => return (f, n),
                    Some(_) => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the solver's log grows");
    assert!(grown.1 > grown.0);

    let (status, dir) = server
        .get(&format!("jobs/{job}/runs/1/directory-contents/"))
        .await;
    assert_eq!(status, 200, "{dir}");
    assert!(dir.to_string().contains(rescale_fake::LOG_PATH), "{dir}");

    // The run goes on until stopped.
    let (status, body) = server
        .json(
            reqwest::Method::POST,
            &format!("jobs/{job}/runs/1/stop/"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(last_iteration(&server, &job).await, None, "stopped");

    assert!(server.stop("TERM").await.success());
}

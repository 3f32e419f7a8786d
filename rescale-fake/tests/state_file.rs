//! What a fake remembers and hands out: random ids, outputs (seeded jobs too, as many as
//! asked for), and the state file that carries jobs, files, statuses, solvers, attachments
//! and the account's settings across a restart.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Api;
use rescale_fake::{FakeConfig, FakeRescale};
use serde_json::Value;

fn config(state: Option<&Path>) -> FakeConfig {
    FakeConfig {
        step: Duration::from_millis(5),
        large_output_size: 10_000,
        state_path: state.map(Path::to_path_buf),
        ..FakeConfig::default()
    }
}

/// `(relativePath, id, decryptedSize)` of a job's outputs, sorted.
async fn outputs(api: &Api, job: &str) -> Vec<(String, String, u64)> {
    let (status, page) = api.get(&format!("jobs/{job}/files/?page_size=1000")).await;
    assert_eq!(status, 200, "{page}");
    let mut files: Vec<_> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["relativePath"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["decryptedSize"].as_u64().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

async fn contents(api: &Api, file: &str) -> Vec<u8> {
    let resp = api
        .request(reqwest::Method::GET, &format!("files/{file}/contents/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap().to_vec()
}

/// Creates, submits and waits for a job; returns its id.
async fn completed_job(api: &Api, name: &str) -> String {
    let id = api.create_job(name, "echo hi").await;
    let (status, _) = api.post(&format!("jobs/{id}/submit/"), Value::Null).await;
    assert_eq!(status, 200);
    api.wait_completed(&id).await;
    id
}

#[tokio::test]
async fn two_fakes_hand_out_different_ids() {
    let (a, b) = (Api::new().await, Api::new().await);
    let (ja, jb) = (
        a.create_job("a", "echo a").await,
        b.create_job("b", "echo b").await,
    );
    assert_ne!(ja, jb, "the first job of every fake used to be the same id");
    assert_eq!(ja.len(), 5);
    let (fa, fb) = (
        a.fake.add_file("x.txt", b"x".to_vec()),
        b.fake.add_file("x.txt", b"x".to_vec()),
    );
    assert_ne!(fa, fb);
    assert_eq!(fa.len(), 6);
}

#[tokio::test]
async fn seeded_jobs_have_outputs() {
    let api = Api::new().await;
    api.fake.seed_jobs(2);
    let (_, page) = api.get("jobs/").await;
    let id = page["results"][1]["id"].as_str().unwrap().to_owned();
    let files = outputs(&api, &id).await;
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "output/log.txt",
            "results/data.bin",
            "results/summary.csv",
            "stdout.txt"
        ]
    );
    let stdout = &files.iter().find(|f| f.0 == "stdout.txt").unwrap().1;
    assert_eq!(
        contents(&api, stdout).await,
        b"$ echo seeded\nCompleted successfully\n"
    );
    // Asked again: the same files, not new ones.
    assert_eq!(outputs(&api, &id).await, files);
    let (_, run_files) = api.get(&format!("jobs/{id}/runs/1/files/")).await;
    assert_eq!(run_files["count"], 4);
}

#[tokio::test]
async fn completed_jobs_get_the_number_of_outputs_asked_for() {
    let api = Api::with(FakeConfig {
        output_files: 100,
        ..config(None)
    })
    .await;
    let id = completed_job(&api, "many").await;
    let files = outputs(&api, &id).await;
    assert_eq!(files.len(), 100);
    assert!(
        files
            .iter()
            .any(|f| f.0 == "results/data.bin" && f.2 == 10_000)
    );
    assert!(files.iter().any(|f| f.0 == "results/part_0099.txt"));
    let part = &files
        .iter()
        .find(|f| f.0 == "results/part_0004.txt")
        .unwrap()
        .1;
    assert_eq!(
        contents(&api, part).await,
        format!("part 4 of job {id}\n").as_bytes()
    );

    let few = Api::with(FakeConfig {
        output_files: 2,
        ..config(None)
    })
    .await;
    let id = completed_job(&few, "few").await;
    let paths: Vec<String> = outputs(&few, &id).await.into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["output/log.txt", "stdout.txt"]);
}

#[tokio::test]
async fn jobs_files_and_statuses_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fake.json");
    let api = Api::with(config(Some(&state))).await;
    assert!(state.is_file(), "the state file is written at start");
    let done = completed_job(&api, "done").await;
    let draft = api.create_job("draft", "echo later").await;
    let binary: Vec<u8> = (0..=255).collect();
    let upload = api.fake.add_file("mesh.bin", binary.clone());
    let (status, _) = api
        .post(
            &format!("jobs/{done}/share/"),
            serde_json::json!({"email": "colleague@example.com", "message": "see"}),
        )
        .await;
    assert_eq!(status, 201);
    let files = outputs(&api, &done).await;
    let data_id = &files.iter().find(|f| f.0 == "results/data.bin").unwrap().1;
    let data = contents(&api, data_id).await;
    let (_, history) = api.get(&format!("jobs/{done}/statuses/")).await;
    let key = api.fake.api_key();
    api.fake.shutdown().await;

    let api = Api::with(config(Some(&state))).await;
    assert_eq!(api.key, key, "the key comes back from the state file");
    let (_, page) = api.get("jobs/").await;
    assert_eq!(page["count"], 2);
    let (status, job) = api.get(&format!("jobs/{done}/")).await;
    assert_eq!(status, 200);
    assert_eq!(job["name"], "done");
    let (_, summary) = api.get("jobs/?state=completed").await;
    assert_eq!(
        summary["results"][0]["sharedWith"][0],
        "colleague@example.com"
    );
    assert_eq!(api.get(&format!("jobs/{done}/statuses/")).await.1, history);
    assert_eq!(outputs(&api, &done).await, files);
    assert_eq!(contents(&api, data_id).await, data);
    assert_eq!(contents(&api, &upload).await, binary);
    let (_, uploads) = api.get("files/").await;
    assert_eq!(uploads["results"][0]["id"], upload.as_str());

    // The draft is still a draft, and can be submitted now.
    let (status, _) = api.get(&format!("jobs/{draft}/cluster_statuses/")).await;
    assert_eq!(status, 404, "no cluster before submit");
    let (status, _) = api
        .post(&format!("jobs/{draft}/submit/"), Value::Null)
        .await;
    assert_eq!(status, 200);
    api.wait_completed(&draft).await;
    assert_eq!(outputs(&api, &draft).await.len(), 4);
}

#[tokio::test]
async fn a_job_running_at_shutdown_goes_on_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fake.json");
    let slow = FakeConfig {
        step: Duration::from_secs(3600),
        ..config(Some(&state))
    };
    let api = Api::with(slow.clone()).await;
    let id = api.create_job("slow", "echo slow").await;
    api.post(&format!("jobs/{id}/submit/"), Value::Null).await;
    api.fake.shutdown().await;

    // Restarted: the job is where the wall clock says (Pending, an hour from Waiting for
    // Queue), and its remaining statuses are still ahead of it.
    let api = Api::with(slow).await;
    let history = api.statuses(&id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].0, "Pending");
    // Stopping it takes effect at once.
    let (status, _) = api.post(&format!("jobs/{id}/stop/"), Value::Null).await;
    assert_eq!(status, 202);
    let (_, page) = api.get(&format!("jobs/{id}/statuses/")).await;
    assert_eq!(page["results"][0]["status"], "Stopping");
}

#[tokio::test]
async fn save_writes_what_a_start_reads_and_a_bad_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new().await;
    api.fake.seed_jobs(5);
    let saved = dir.path().join("saved.json");
    api.fake.save(&saved).unwrap();
    let again = Api::with(config(Some(&saved))).await;
    assert_eq!(again.get("jobs/").await.1["count"], 5);

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"version\": 99}").unwrap();
    let err = FakeRescale::try_start(config(Some(&broken)))
        .await
        .expect_err("a file this fake did not write");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("broken.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "{\"version\": 99}"
    );
}

/// The iteration of the last line of a solver's log, once its run is in progress.
async fn last_iteration(api: &Api, job: &str) -> Option<u64> {
    let (status, body) = api.get(&common::solver_tail(job)).await;
    common::solver_iteration(status, &body)
}

#[tokio::test]
async fn solvers_attachments_and_max_job_hours_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fake.json");
    let api = Api::with(config(Some(&state))).await;
    api.fake.set_max_job_hours(9);
    let draft = api.create_job("attached", "echo hi").await;
    let (status, body) = api
        .post(
            &format!("jobs/{draft}/storage-devices/"),
            serde_json::json!({ "storageDevice": { "id": "sTorage1" } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let solver = api.fake.start_solver(rescale_fake::SolverConfig {
        lines: 100_000,
        line_every: Duration::from_millis(10),
        keep_running: true,
    });
    // Wait (on the condition; the timeout only guards a hang) for a few lines.
    let before = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match last_iteration(&api, &solver).await {
                Some(n) if n >= 3 => return n,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await
    .expect("the solver writes");
    let (status, first) = api
        .post(&format!("jobs/{solver}/runs/1/snapshot/"), Value::Null)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["lastSnapshotID"], Value::Null);
    api.fake.shutdown().await;

    let api = Api::with(config(Some(&state))).await;
    let (_, me) = api.get("users/me/").await;
    assert_eq!(me["maxJobHours"], 9);
    assert_eq!(api.fake.storage_devices(&draft), vec!["sTorage1"]);
    // The solver goes on from where the wall clock says, not from its first line.
    let after = last_iteration(&api, &solver)
        .await
        .expect("still in progress");
    assert!(after >= before, "{after} < {before}");
    // It remembers its snapshot.
    let (status, second) = api
        .post(&format!("jobs/{solver}/runs/1/snapshot/"), Value::Null)
        .await;
    assert_eq!(status, 200, "{second}");
    let previous = second["lastSnapshotID"]
        .as_str()
        .expect("the first snapshot");
    let (status, file) = api.get(&format!("files/{previous}/")).await;
    assert_eq!(status, 200, "{file}");
    let (status, _) = api
        .post(&format!("jobs/{solver}/runs/1/stop/"), Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(last_iteration(&api, &solver).await, None, "stopped");
}

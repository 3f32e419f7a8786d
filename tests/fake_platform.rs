//! The job API end to end against `rescale-fake`, the stateful stand-in for the service.

mod common;

use std::time::Duration;

use futures::TryStreamExt;
use rescale::jobs::{ClusterStatus, Hardware, JobAnalysis, JobPatch, JobStatus, NewJob};
use rescale::{Client, JobOutcome};
use rescale_fake::FakeRescale;

async fn fake() -> (FakeRescale, Client) {
    fake_with_step(Duration::from_millis(5)).await
}

/// A fake whose jobs take `step` per status: long enough, a job is still running when the
/// next call arrives however the machine schedules the test.
async fn fake_with_step(step: Duration) -> (FakeRescale, Client) {
    common::fake_and_client(step).await
}

fn hello(command: &str) -> NewJob {
    NewJob::new(
        "hello",
        vec![
            JobAnalysis::new("user_included", command, Hardware::new("standard-plus", 1))
                .version("0"),
        ],
    )
}

/// Polls the status history until it holds a final status; bounded so a bug cannot hang.
async fn history_until_final(client: &Client, id: &str) -> Vec<rescale::jobs::JobStatusEntry> {
    for _ in 0..400 {
        let history: Vec<_> = client
            .jobs()
            .statuses(id)
            .stream()
            .try_collect()
            .await
            .expect("statuses");
        if history.first().is_some_and(|e| e.status.is_final()) {
            return history;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("job {id} never reached a final status");
}

#[tokio::test]
async fn a_job_lives_from_create_to_delete() {
    let (fake, client) = fake().await;
    let jobs = client.jobs();

    let job = jobs.create(&hello("echo hi")).await.unwrap();
    assert_eq!(job.name, "hello");
    assert_eq!(
        job.job_analyses[0].hardware.core_type_code(),
        "standard-plus"
    );
    // No cluster before submit: the service answers 404.
    let err = jobs
        .cluster_statuses(&job.id)
        .page(1)
        .await
        .expect_err("no cluster yet");
    assert!(err.is_not_found(), "{err}");

    let renamed = jobs
        .patch(&job.id, &JobPatch::new().name("renamed"))
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("renamed"));

    jobs.submit(&job.id).await.unwrap();
    let history = history_until_final(&client, job.id.as_str()).await;
    let newest_first: Vec<JobStatus> = history.iter().map(|e| e.status.clone()).collect();
    assert_eq!(
        newest_first,
        vec![
            JobStatus::Completed,
            JobStatus::Executing,
            JobStatus::Validated,
            JobStatus::Started,
            JobStatus::Queued,
            JobStatus::WaitingForQueue,
            JobStatus::Pending,
        ]
    );
    assert_eq!(
        history[0].status_reason.as_deref(),
        Some("Completed successfully")
    );

    // Read back in full: the object form of coreType decodes too.
    let full = jobs.get(&job.id).await.unwrap();
    assert_eq!(
        full.job_analyses[0].hardware.core_type_code(),
        "standard-plus"
    );

    let outputs: Vec<_> = jobs
        .files(&job.id)
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<_> = outputs
        .iter()
        .map(|f| f.relative_path.clone().unwrap_or_default())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "output/log.txt",
            "results/data.bin",
            "results/summary.csv",
            "stdout.txt"
        ]
    );
    assert!(outputs.iter().all(|f| f.sha512().is_some()));

    // A completed job does not change: the service answers 200 with what it has.
    let unchanged = jobs
        .patch(&job.id, &JobPatch::new().name("too late"))
        .await
        .unwrap();
    assert_eq!(unchanged.name.as_deref(), Some("renamed"));

    // The cluster stops a little after the job completes; delete needs it stopped.
    let mut stopped = false;
    for _ in 0..400 {
        let cluster: Vec<_> = jobs
            .cluster_statuses(&job.id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        if cluster.first().map(|e| &e.status) == Some(&ClusterStatus::Stopped) {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(stopped, "the cluster never stopped");
    jobs.delete(&job.id).await.unwrap();
    let err = jobs.get(&job.id).await.expect_err("deleted");
    assert!(err.is_not_found());
    assert_eq!(fake.request_count("POST jobs/"), 1);
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);
    assert_eq!(fake.request_count("DELETE jobs/{id}/"), 1);
}

#[tokio::test]
async fn a_failed_run_still_completes_with_its_reason() {
    let (_fake, client) = fake().await;
    let job = client
        .jobs()
        .create(&hello("make && exit 1"))
        .await
        .unwrap();
    client.jobs().submit(&job.id).await.unwrap();
    let history = history_until_final(&client, job.id.as_str()).await;
    assert_eq!(history[0].status, JobStatus::Completed);
    assert_eq!(history[0].status_reason.as_deref(), Some("A run failed"));
    assert!(history.iter().any(|e| e.status == JobStatus::Stopping));
}

#[tokio::test]
async fn delete_while_the_cluster_runs_is_refused_with_the_servers_reason() {
    // An hour per status: the cluster cannot have stopped before the delete arrives.
    let (_fake, client) = fake_with_step(Duration::from_secs(3600)).await;
    let job = client.jobs().create(&hello("sleep 1")).await.unwrap();
    client.jobs().submit(&job.id).await.unwrap();
    let err = client
        .jobs()
        .delete(&job.id)
        .await
        .expect_err("cluster running");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    let api = err.api_error().expect("an API error");
    assert!(!api.message.is_empty());
}

#[tokio::test]
async fn listing_many_jobs_follows_every_page() {
    let (fake, client) = fake().await;
    fake.seed_jobs(2_345);
    let all: Vec<_> = client
        .jobs()
        .list()
        .page_size(1000)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2_345);
    let mut ids: Vec<_> = all.iter().map(|j| j.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2_345, "no job listed twice");
    assert_eq!(fake.request_count("GET jobs/"), 3);
}

#[tokio::test]
async fn a_wrong_key_is_a_401_with_the_servers_detail() {
    let (fake, _client) = fake().await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .token("not-the-key")
        .build()
        .unwrap();
    let err = client.jobs().list().page(1).await.expect_err("bad key");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.to_string().contains("Invalid token"), "{err}");
    assert!(!format!("{err:?}").contains("not-the-key"));
}

const POLL: Duration = Duration::from_millis(5);

#[tokio::test]
async fn the_crates_lifecycle_helpers_against_the_fake() {
    let (fake, client) = fake().await;
    let jobs = client.jobs();
    let dir = tempfile::tempdir().unwrap();

    // Upload an input and run a job that uses it.
    let input = dir.path().join("mesh.inp");
    std::fs::write(&input, b"*NODE\n1, 0, 0, 0\n").unwrap();
    let uploaded = client.files().upload(&input).await.unwrap();
    assert_eq!(uploaded.name, "mesh.inp");
    assert_eq!(uploaded.decrypted_size, Some(17));
    let new = NewJob::new(
        "with input",
        vec![
            JobAnalysis::new(
                "user_included",
                "solve mesh.inp",
                Hardware::new("standard-plus", 2),
            )
            .version("0")
            .input_file(&uploaded),
        ],
    );
    client.catalog().check_job(&new).await.unwrap();
    let job = jobs.create(&new).await.unwrap();
    jobs.submit(&job.id).await.unwrap();

    // Every status once, oldest first, ending with the final one.
    let seen: Vec<JobStatus> = jobs
        .watch(&job.id)
        .poll_interval(POLL)
        .map_ok(|e| e.status)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seen.first(), Some(&JobStatus::Pending));
    assert_eq!(seen.last(), Some(&JobStatus::Completed));
    let mut deduped = seen.clone();
    deduped.dedup();
    assert_eq!(deduped, seen, "no status reported twice");

    let outcome = jobs
        .wait_for_completion(&job.id)
        .poll_interval(POLL)
        .await
        .unwrap();
    assert!(
        matches!(outcome, JobOutcome::Succeeded { .. }),
        "{outcome:?}"
    );

    // Outputs into a directory, checked; a second run downloads nothing.
    let out = dir.path().join("out");
    let report = client
        .files()
        .download_outputs(&job.id, &out)
        .await
        .unwrap();
    assert_eq!(report.downloaded.len(), 4);
    assert!(out.join("results/data.bin").is_file());
    assert_eq!(
        std::fs::metadata(out.join("results/data.bin"))
            .unwrap()
            .len(),
        3 * 1024 * 1024
    );
    let downloads = fake.request_count("GET files/{id}/contents/");
    let again = client
        .files()
        .download_outputs(&job.id, &out)
        .await
        .unwrap();
    assert_eq!(again.downloaded.len(), 0);
    assert_eq!(again.skipped.len(), 4);
    assert_eq!(fake.request_count("GET files/{id}/contents/"), downloads);

    // Runs: one, with the same outputs.
    let runs: Vec<_> = jobs.runs(&job.id).stream().try_collect().await.unwrap();
    assert_eq!(runs.len(), 1);
    let run_files: Vec<_> = jobs
        .run_files(&job.id, &runs[0].id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(run_files.len(), 4);

    // Delete once the cluster has stopped.
    let stopped = jobs
        .wait_for_cluster_stop(&job.id)
        .poll_interval(POLL)
        .await
        .unwrap();
    assert_eq!(stopped.status, ClusterStatus::Stopped);
    jobs.delete(&job.id).await.unwrap();
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);
}

#[tokio::test]
async fn outcomes_of_a_failed_and_a_stopped_job() {
    let (_fake, client) = fake().await;
    let jobs = client.jobs();
    let failing = jobs.create(&hello("run && exit 1")).await.unwrap();
    jobs.submit(&failing.id).await.unwrap();
    let outcome = jobs
        .wait_for_completion(&failing.id)
        .poll_interval(POLL)
        .await
        .unwrap();
    assert!(
        matches!(&outcome, JobOutcome::Failed { reason, .. } if reason == "A run failed"),
        "{outcome:?}"
    );

    // A stop must arrive before the job finishes by itself (six steps after the
    // submit): with 2 s steps that holds however busy the machine is.
    let (_slow, client) = common::fake_and_client(Duration::from_secs(2)).await;
    let jobs = client.jobs();
    let stopped = jobs.create(&hello("sleep 100")).await.unwrap();
    jobs.submit(&stopped.id).await.unwrap();
    jobs.stop(&stopped.id).await.unwrap();
    let outcome = jobs
        .wait_for_completion(&stopped.id)
        .poll_interval(POLL)
        .await
        .unwrap();
    assert!(
        matches!(&outcome, JobOutcome::Stopped { reason, .. } if reason == "User Terminated"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn faults_of_the_fake_are_retried_where_safe_and_only_there() {
    use rescale_fake::Fault;
    let fake = FakeRescale::start().await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .retry(rescale::RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    let jobs = client.jobs();
    let job = jobs.create(&hello("echo")).await.unwrap();

    // Reads survive a dropped connection and a 503: three GETs, one answer.
    fake.inject_fault(Fault::DropConnection, 1);
    fake.inject_fault(Fault::ServiceUnavailable, 1);
    let read = jobs.get(&job.id).await.unwrap();
    assert_eq!(read.id, job.id);
    assert_eq!(fake.request_count("GET jobs/{id}/"), 3);

    // A 503 on submit may hide a started job: one POST, and the outcome is unknown.
    fake.inject_fault(Fault::ServiceUnavailable, 1);
    let err = jobs.submit(&job.id).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains(job.id.as_str()), "{err}");
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);

    // A 429 is safe to repeat even for submit: nothing was done.
    fake.inject_fault(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    jobs.submit(&job.id).await.unwrap();
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 3);
}

#[tokio::test]
async fn a_fleet_tells_a_job_created_but_never_submitted_on_the_fake() {
    let (fake, client) = fake().await;
    let saved = client.jobs().create(&hello("echo hi")).await.unwrap();
    let submitted = client.jobs().create(&hello("echo hi")).await.unwrap();
    client.jobs().submit(&submitted.id).await.unwrap();

    let mut fleet = client
        .jobs()
        .watch_many([&saved.id, &submitted.id])
        .poll_interval(Duration::from_millis(5));
    // The submitted job finishes; the saved one is told once, and the fleet goes on
    // waiting for it.
    let mut told = Vec::new();
    let mut finished = Vec::new();
    while told.is_empty() || finished.is_empty() {
        match fleet.try_next().await.unwrap().unwrap() {
            rescale::FleetEvent::NotSubmitted { id } => told.push(id),
            rescale::FleetEvent::Finished { id, outcome } => {
                assert!(outcome.unwrap().is_success());
                finished.push(id);
            }
            _ => {}
        }
    }
    assert_eq!(told, std::slice::from_ref(&saved.id));
    assert_eq!(finished, std::slice::from_ref(&submitted.id));
    // Listed as unfinished with an empty status, it costs no history read.
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with(&format!("{}/statuses/", saved.id)))
            .count(),
        0
    );
}

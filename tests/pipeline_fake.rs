//! Live output, run steering, the account, the pre-flight check, the file library and job
//! attachments end to end against `rescale-fake`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use rescale::files::FileType;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use rescale::{Client, Error, FollowEvent};
use rescale_fake::{FakeRescale, LOG_PATH, SolverConfig};

/// Guards against hangs only; nothing asserts on time.
const GUARD: Duration = Duration::from_secs(60);

async fn fake() -> (FakeRescale, Client) {
    common::fake_and_client(Duration::from_millis(5)).await
}

/// Waits until the solver's run is in progress (its directory can be listed).
async fn until_running(client: &Client, job: &str) {
    tokio::time::timeout(GUARD, async {
        while client.jobs().run_directory(job, "1").await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the solver's run starts");
}

/// The iteration number of a solver log line (`Time = N ...`).
fn iteration(line: &str) -> usize {
    line.strip_prefix("Time = ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a solver line: {line}"))
}

#[tokio::test]
async fn follow_reads_a_growing_log_live_until_the_run_is_stopped() {
    let (fake, client) = fake().await;
    let job = fake.start_solver(SolverConfig {
        lines: 30,
        line_every: Duration::from_millis(10),
        keep_running: true,
    });
    until_running(&client, &job).await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let follow = client
        .jobs()
        .follow(&job, "1", LOG_PATH)
        .poll_interval(Duration::from_millis(5));
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        let mut follow = follow;
        while let Some(event) = follow.try_next().await? {
            sink.lock().unwrap().push(event);
        }
        Ok::<(), Error>(())
    });
    // Every line arrives while the run is in progress...
    tokio::time::timeout(GUARD, async {
        while seen.lock().unwrap().len() < 30 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("all 30 lines are followed");
    // ...and stopping the run ends the stream.
    client.jobs().stop_run(&job, "1").await.unwrap();
    tokio::time::timeout(GUARD, task)
        .await
        .expect("follow ends once the run completes")
        .unwrap()
        .unwrap();

    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 30, "each line once, no gap: {events:?}");
    for (i, event) in events.iter().enumerate() {
        let line = event.line().expect("only lines");
        assert_eq!(iteration(line), i + 1);
    }
    let run = client.jobs().run(&job, "1").await.unwrap();
    assert!(run.date_completed.is_some());
    let tail_key = "GET jobs/{id}/runs/{run}/tail/{path}";
    assert!(fake.request_count(tail_key) >= 2, "polled the tail");
    assert_eq!(fake.request_count("POST jobs/{id}/runs/{run}/stop/"), 1);
}

#[tokio::test]
async fn follow_ends_by_itself_when_the_solver_finishes() {
    let (fake, client) = fake().await;
    let job = fake.start_solver(SolverConfig {
        lines: 10,
        line_every: Duration::from_millis(5),
        keep_running: false,
    });
    // Followed right away: the run has not started yet, and is waited for.
    let events: Vec<FollowEvent> = tokio::time::timeout(
        GUARD,
        client
            .jobs()
            .follow(&job, "1", LOG_PATH)
            .poll_interval(Duration::from_millis(2))
            .try_collect(),
    )
    .await
    .expect("follow ends")
    .unwrap();
    // Whatever was seen before the end is in order, each line once, with no gap (the
    // window is larger than the log).
    let numbers: Vec<usize> = events
        .iter()
        .map(|e| iteration(e.line().expect("only lines")))
        .collect();
    assert!(
        numbers.iter().enumerate().all(|(i, n)| *n == i + 1),
        "{numbers:?}"
    );
}

#[tokio::test]
async fn directory_tail_snapshot_and_stop_a_run() {
    let (fake, client) = fake().await;
    let jobs = client.jobs();
    let job = fake.start_solver(SolverConfig {
        keep_running: true,
        line_every: Duration::from_millis(1),
        ..SolverConfig::default()
    });
    until_running(&client, &job).await;

    let dir = jobs.run_directory(&job, "1").await.unwrap();
    let paths: Vec<&str> = dir.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["airFoil2D/0/U", LOG_PATH]);
    assert_eq!(
        dir[1].resource.as_deref(),
        Some(format!("/api/jobs/{job}/runs/1/tail/{LOG_PATH}").as_str())
    );

    let field = jobs
        .tail(&job, "1", "airFoil2D/0/U")
        .lines(2)
        .await
        .unwrap();
    assert_eq!(field.lines.len(), 2);
    assert!(
        field
            .file_type
            .unwrap()
            .ends_with("airFoil2D/0/U: ASCII text")
    );
    let raw: Vec<_> = jobs
        .tail(&job, "1", "airFoil2D/0/U")
        .bytes()
        .try_collect()
        .await
        .unwrap();
    assert!(
        String::from_utf8(raw.concat())
            .unwrap()
            .contains("OpenFOAM")
    );
    let missing = jobs.tail(&job, "1", "nope").lines(1).await.unwrap_err();
    assert!(missing.is_not_found());

    let first = jobs.snapshot_run(&job, "1").await.unwrap();
    assert!(first.is_success());
    assert_eq!(first.last_snapshot_id, None);
    let second = jobs.snapshot_run(&job, "1").await.unwrap();
    let previous = second.last_snapshot_id.expect("the first snapshot's id");
    let file = client.files().get(&previous).await.unwrap();
    assert_eq!(file.file_type(), Some(FileType::Snapshot));

    jobs.stop_run(&job, "1").await.unwrap();
    let run = jobs.run(&job, "1").await.unwrap();
    assert!(run.date_completed.is_some());
    let err = jobs.snapshot_run(&job, "1").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(fake.request_count("POST jobs/{id}/runs/{run}/snapshot/"), 3);
}

fn solver_job(hours: u32) -> NewJob {
    NewJob::new(
        "cfd",
        vec![
            JobAnalysis::new(
                "user_included",
                "simpleFoam",
                Hardware::new("standard-plus", 2).walltime_hours(hours),
            )
            .version("0"),
        ],
    )
}

#[tokio::test]
async fn preflight_against_the_account_costs_four_requests_for_many_jobs() {
    let (fake, client) = fake().await;
    fake.set_max_job_hours(10);
    let project = fake.project_ids()[0].clone();
    let catalog = client.catalog();
    for _ in 0..100 {
        catalog
            .check_job(&solver_job(10).project_id(project.clone()))
            .await
            .unwrap();
    }
    let err = catalog.check_job(&solver_job(11)).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "job_analyses[0].hardware.walltime"),
        "{err:?}"
    );
    let problems = catalog
        .preflight(&solver_job(1).project_id("not-mine"))
        .await
        .unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "project_id");
    for key in [
        "GET coretypes/",
        "GET analyses/",
        "GET users/me/",
        "GET users/me/projects/",
    ] {
        assert_eq!(fake.request_count(key), 1, "{key}");
    }
    assert_eq!(fake.request_count("POST jobs/"), 0, "nothing was created");
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn account_and_prices() {
    let (_fake, client) = fake().await;
    let me = client.account().me().await.unwrap();
    assert_eq!(me.max_job_hours, Some(72.0));
    let projects: Vec<_> = client
        .account()
        .projects()
        .page_size(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(projects.len(), 2);
    let prices = client.billing().compute_prices().await.unwrap();
    let emerald = prices
        .iter()
        .find(|p| p.core_type.as_deref() == Some("emerald"))
        .unwrap();
    let value = emerald.value.as_ref().unwrap();
    assert_eq!(value.currency.as_deref(), Some("USD"));
    assert!(value.amount.is_some());
}

#[tokio::test]
async fn the_file_library() {
    let (fake, client) = fake().await;
    let files = client.files();
    let id = fake.add_file("notes.txt", b"line 1\nline 2\n".to_vec());
    fake.add_file("other.bin", vec![0, 1, 2]);
    let found: Vec<_> = files
        .list()
        .search("notes")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let found: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(found, [id.as_str()]);
    assert_eq!(
        files.rename(&id, "renamed.txt").await.unwrap().name,
        "renamed.txt"
    );
    let retyped = files.set_type(&id, FileType::Template).await.unwrap();
    assert_eq!(retyped.file_type(), Some(FileType::Template));
    assert_eq!(files.get(&id).await.unwrap().name, "renamed.txt");
    assert_eq!(files.lines(&id).await.unwrap(), ["line 1\n", "line 2\n"]);

    // A file a job references: the fake deletes it (what the service does is undocumented).
    let mut new = solver_job(1);
    new.job_analyses[0] = new.job_analyses[0]
        .clone()
        .input_file(&files.get(&id).await.unwrap());
    client.jobs().create(&new).await.unwrap();
    files.delete(&id).await.unwrap();
    assert!(files.get(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn attachments_before_submit_and_instances_while_executing() {
    let (fake, client) = fake().await;
    let jobs = client.jobs();
    let job = jobs.create(&solver_job(1)).await.unwrap();
    jobs.attach_storage_device(&job.id, "sdEv1").await.unwrap();
    jobs.set_custom_fields(&job.id, &serde_json::json!({"costCenter": "42"}))
        .await
        .unwrap();
    assert_eq!(fake.storage_devices(job.id.as_str()), ["sdEv1"]);
    assert_eq!(
        fake.custom_fields(job.id.as_str()),
        Some(serde_json::json!({"costCenter": "42"}))
    );
    jobs.submit(&job.id).await.unwrap();
    let err = jobs
        .attach_storage_device(&job.id, "sdEv2")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));

    let running = fake.start_solver(SolverConfig {
        keep_running: true,
        ..SolverConfig::default()
    });
    until_running(&client, &running).await;
    let instances: Vec<_> = jobs
        .instances(&running)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].role.as_deref(), Some("MPI_MASTER"));
    let details = jobs.connection_details(&running).await.unwrap();
    assert_eq!(details.connection_details[0].port, Some(22));
}

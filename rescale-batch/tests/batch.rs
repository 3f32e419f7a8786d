//! A batch against the fake: every item once, and steps whose answer was lost.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rescale_batch::{Batch, BatchError, Event, Step};
use rescale_fake::{Aim, FakeRescale, Fault};

use common::{client, items, outcome};

fn batch(fake: &FakeRescale, ledger: &std::path::Path) -> Batch {
    Batch::new(client(&fake.base_url(), &fake.api_key()), ledger)
        .concurrency(3)
        .reconcile_after(Duration::ZERO)
}

#[tokio::test]
async fn every_item_is_uploaded_created_and_submitted_once() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .run(items(10, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!((summary.total, summary.submitted_now), (10, 10));
    assert_eq!(fake.request_count("POST files/contents/"), 10);
    assert_eq!(fake.request_count("POST jobs/"), 10);
    outcome(&fake).await.assert_exactly_once(10, &[]);
    let events = events.lock().unwrap().clone();
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(|e| matches!(e, Event::Uploaded { file_ids, .. } if file_ids.len() == 1)),
        10
    );
    assert_eq!(count(|e| matches!(e, Event::Created { .. })), 10);
    assert_eq!(count(|e| matches!(e, Event::Submitted { .. })), 10);

    // A second run has nothing left to do and sends nothing that changes anything.
    let before = fake.requests().len();
    let again = batch(&fake, &dir.path().join("b.ledger"))
        .run(items(10, dir.path()))
        .await
        .unwrap();
    assert_eq!((again.submitted, again.submitted_now), (10, 0));
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn the_input_files_become_inputs_of_the_job() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let created = Arc::new(Mutex::new(Vec::new()));
    let seen = created.clone();
    batch(&fake, &dir.path().join("b.ledger"))
        .on_event(move |e| {
            if let Event::Created { job_id, .. } = e {
                seen.lock().unwrap().push(job_id.clone());
            }
        })
        .run(items(1, dir.path()))
        .await
        .unwrap();
    let client = client(&fake.base_url(), &fake.api_key());
    let id = created.lock().unwrap()[0].clone();
    let job = client.jobs().get(&id).await.unwrap();
    let inputs = &job.job_analyses[0].input_files;
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].name.as_deref(), Some("input-1.txt"));
    assert!(job.name.starts_with("Sweep point 1 ["), "{}", job.name);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_and_not_made_again() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The 2nd and 3rd creates happen, but their answers are lost (504, then a dropped
    // connection): both are OutcomeUnknown to the client.
    fake.aim_fault("POST jobs/", Aim::AnswerLost(Fault::GatewayTimeout), 1);
    fake.aim_fault("POST jobs/", Aim::AnswerLost(Fault::DropConnection), 1);
    let reconciled = Arc::new(Mutex::new(Vec::new()));
    let seen = reconciled.clone();
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .on_event(move |e| {
            if let Event::Reconciled { step, happened, .. } = e {
                seen.lock().unwrap().push((*step, *happened));
            }
        })
        .run(items(6, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(
        *reconciled.lock().unwrap(),
        [(Step::Create, true), (Step::Create, true)]
    );
    assert_eq!(fake.request_count("POST jobs/"), 6);
    outcome(&fake).await.assert_exactly_once(6, &[]);
}

#[tokio::test]
async fn a_create_that_did_not_happen_is_made_again_once_certainly_absent() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A 504 from a proxy: the create never reached the service.
    fake.aim_fault("POST jobs/", Aim::Instead(Fault::GatewayTimeout), 1);
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .run(items(4, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(summary.reconciled, 1);
    assert_eq!(fake.request_count("POST jobs/"), 5);
    outcome(&fake).await.assert_exactly_once(4, &[]);
}

#[tokio::test]
async fn an_item_whose_creates_are_all_lost_fails_in_the_summary_and_is_created_by_the_next_run() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("b.ledger");
    fake.aim_fault("POST jobs/", Aim::Instead(Fault::GatewayTimeout), 3);
    let summary = batch(&fake, &ledger)
        .run(items(1, dir.path()))
        .await
        .unwrap();
    assert!(!summary.is_complete(), "{summary:?}");
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert_eq!(summary.failed[0].0, "point-1");
    assert!(summary.failed[0].1.contains("create job"), "{summary:?}");
    assert_eq!(fake.request_count("POST jobs/"), 3);
    // The next run looks the job up, finds it certainly absent, and creates it once.
    let summary = batch(&fake, &ledger)
        .run(items(1, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(fake.request_count("POST jobs/"), 4);
    outcome(&fake).await.assert_exactly_once(1, &[]);
}

#[tokio::test]
async fn a_submit_whose_answer_was_lost_is_read_from_the_history_and_not_sent_again() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    fake.aim_fault(
        "POST jobs/{id}/submit/",
        Aim::AnswerLost(Fault::GatewayTimeout),
        2,
    );
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .run(items(5, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(summary.reconciled, 2);
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 5);
    outcome(&fake).await.assert_exactly_once(5, &[]);
}

#[tokio::test]
async fn the_wait_before_a_lookup_is_told() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    fake.aim_fault("POST jobs/", Aim::AnswerLost(Fault::GatewayTimeout), 1);
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .concurrency(1)
        .reconcile_after(Duration::from_millis(50))
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .run(items(1, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    let events = events.lock().unwrap();
    let waited = events
        .iter()
        .position(|e| matches!(e, Event::Waiting { keys, step: Step::Create, wait } if keys == &["point-1"] && *wait <= Duration::from_millis(50)))
        .expect("a Waiting event");
    let looked_up = events
        .iter()
        .position(|e| {
            matches!(
                e,
                Event::Reconciled {
                    step: Step::Create,
                    ..
                }
            )
        })
        .expect("a lookup");
    assert!(waited < looked_up);
}

#[tokio::test]
async fn a_submit_that_did_not_happen_is_sent_again() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    fake.aim_fault(
        "POST jobs/{id}/submit/",
        Aim::Instead(Fault::GatewayTimeout),
        1,
    );
    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .concurrency(1)
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .run(items(3, dir.path()))
        .await
        .unwrap();
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 4);
    // With one item at a time, the first submit is the one that was refused.
    outcome(&fake).await.assert_exactly_once(3, &["point-1"]);
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| matches!(e, Event::Reconciled { step: Step::Submit, happened: false, key } if key == "point-1")));
}

#[tokio::test]
async fn a_refused_item_fails_alone_and_the_others_are_submitted() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("b.ledger");
    let mut bad = items(2, dir.path());
    // A job the fake refuses (400): no analyses.
    bad.push(rescale_batch::BatchItem::new(
        "point-3",
        rescale::jobs::NewJob::new("Broken", vec![]),
    ));
    let summary = batch(&fake, &ledger).run(bad).await.unwrap();
    assert_eq!((summary.total, summary.submitted), (3, 2));
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].0, "point-3");
    assert!(
        summary.failed[0].1.contains("job_analyses") || summary.failed[0].1.contains("jobanalyses"),
        "{}",
        summary.failed[0].1
    );
    // Nothing was sent for the refused item: it was refused before the request.
    assert_eq!(fake.request_count("POST jobs/"), 2);
}

#[tokio::test]
async fn a_blank_job_name_fails_its_item_before_anything_is_sent_for_it() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut blank = rescale_batch::BatchItem::new("blank", {
        let mut job = common::job(2);
        job.name = " ".into();
        job
    });
    let input = dir.path().join("blank.inp");
    std::fs::write(&input, b"mesh").unwrap();
    blank = blank.input(&input);
    let items = vec![rescale_batch::BatchItem::new("fine", common::job(1)), blank];

    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .run(items)
        .await
        .unwrap();

    assert_eq!((summary.total, summary.submitted), (2, 1));
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert_eq!(summary.failed[0].0, "blank");
    assert!(summary.failed[0].1.contains("`name`"), "{summary:?}");
    assert_eq!(fake.request_count("POST jobs/"), 1);
    assert_eq!(fake.request_count("POST files/contents/"), 0);
}

#[tokio::test]
async fn a_failure_in_the_summary_says_its_cause() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-input.inp");
    let item = rescale_batch::BatchItem::new("p", common::job(1)).input(&missing);

    let summary = batch(&fake, &dir.path().join("b.ledger"))
        .run([item])
        .await
        .unwrap();

    let (key, error) = &summary.failed[0];
    assert_eq!(key, "p");
    // The error's own level, then its cause (`Display` of `rescale::Error` is one level).
    let said = format!("I/O error on `{}`: ", missing.display());
    assert!(error.starts_with(&said), "{error}");
    assert!(error.len() > said.len(), "{error}");
}

#[tokio::test]
async fn a_mistake_fixed_in_an_item_takes_effect_until_its_job_is_created() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("b.ledger");
    let good = dir.path().join("mesh.inp");
    std::fs::write(&good, b"mesh").unwrap();
    let with_input = |key: &str, job, input: &std::path::Path| {
        rescale_batch::BatchItem::new(key, job).input(input)
    };

    // A wrong path: the item fails at its upload, and nothing else is sent for it.
    let wrong = dir.path().join("mehs.inp");
    let first = batch(&fake, &ledger)
        .run([with_input("p", common::job(1), &wrong)])
        .await
        .unwrap();
    assert_eq!(first.failed.len(), 1, "{first:?}");

    // The path fixed: the next run uploads it and submits the job.
    let second = batch(&fake, &ledger)
        .run([with_input("p", common::job(1), &good)])
        .await
        .unwrap();
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(fake.request_count("POST files/contents/"), 1);

    // Once created, the item keeps its definition: a change is not a second job.
    let third = batch(&fake, &ledger)
        .run([with_input("p", common::job(2), &good)])
        .await
        .unwrap();
    assert_eq!((third.submitted, third.submitted_now), (1, 0));
    assert_eq!(fake.request_count("POST jobs/"), 1);
    assert_eq!(fake.request_count("POST jobs/{id}/submit/"), 1);
}

#[tokio::test]
async fn one_running_batch_holds_a_ledger() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("b.ledger");
    fake.aim_fault("POST files/contents/", Aim::Hang, 1);
    let first = tokio::spawn(batch(&fake, &ledger).run(items(1, dir.path())));
    // Wait (on the fake's log) until the first batch is under way.
    tokio::time::timeout(Duration::from_secs(60), async {
        while fake.request_count("POST files/contents/") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let err = batch(&fake, &ledger)
        .run(items(1, dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, BatchError::Busy(_)), "{err}");
    first.abort();
}

#[tokio::test]
async fn keys_that_cannot_be_carried_in_a_name_are_refused_before_anything_is_sent() {
    let fake = FakeRescale::start().await;
    let dir = tempfile::tempdir().unwrap();
    let item = rescale_batch::BatchItem::new("a/b", common::job(1));
    let err = batch(&fake, &dir.path().join("b.ledger"))
        .run([item])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a/b"), "{err}");
    let twice = vec![
        rescale_batch::BatchItem::new("k", common::job(1)),
        rescale_batch::BatchItem::new("k", common::job(2)),
    ];
    let err = batch(&fake, &dir.path().join("c.ledger"))
        .run(twice)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BatchError::DuplicateKey(ref k) if k == "k"),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

//! Models against the real payloads: every fixture decodes, and a job read and written
//! back loses nothing.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use rescale::Page;
use rescale::files::{FileType, JobFile};
use rescale::jobs::{
    ClusterStatus, ClusterStatusEntry, Job, JobStatus, JobStatusEntry, JobSummary, NewJob,
    PatchedJob, ShareResult, ValueGeneratorType, VariableType,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn decode<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The value with what the service treats alike made equal: a null and a missing key,
/// `1.0` and `1`, and two spellings of one instant.
fn normalise(value: &Value) -> Value {
    normalise_keeping(value, false)
}

/// [`normalise`], but a key that is `null` stays a key (a null and a missing key differ
/// to a PUT), and a `coreType` object counts as its code (the crate sends the code).
fn normalise_strict(value: &Value) -> Value {
    normalise_keeping(value, true)
}

fn normalise_keeping(value: &Value, nulls: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| nulls || !v.is_null())
                .map(|(k, v)| match (k.as_str(), v) {
                    ("coreType", Value::Object(o)) if nulls => (k.clone(), o["code"].clone()),
                    _ => (k.clone(), normalise_keeping(v, nulls)),
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| normalise_keeping(v, nulls)).collect())
        }
        Value::Number(n) => json!(n.as_f64()),
        Value::String(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Value::String(format!("instant {}", t.with_timezone(&Utc).to_rfc3339())),
            Err(_) => value.clone(),
        },
        other => other.clone(),
    }
}

/// Every place where `got` differs from `want`, by JSON path.
fn differences(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => differences(&format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{path}.{k}: lost (was {wv})")),
                }
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: added ({})", g[k]));
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                differences(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ if want == got => {}
        _ => out.push(format!("{path}: {want} became {got}")),
    }
}

fn assert_round_trip<T: DeserializeOwned + serde::Serialize>(name: &str) {
    let original = fixture(name);
    let model: T = serde_json::from_value(original.clone()).unwrap();
    let encoded = serde_json::to_value(&model).unwrap();
    let mut out = Vec::new();
    differences("$", &normalise(&original), &normalise(&encoded), &mut out);
    assert!(
        out.is_empty(),
        "{name} changed in a round trip:\n{}",
        out.join("\n")
    );
}

/// Asserts that `sent` has every key of `want`, at every level, with equal values, and
/// no key `want` has not.
fn assert_same_keys_and_values(what: &str, want: &Value, sent: &Value) {
    let mut out = Vec::new();
    differences(
        "$",
        &normalise_strict(want),
        &normalise_strict(sent),
        &mut out,
    );
    assert!(out.is_empty(), "{what}:\n{}", out.join("\n"));
}

#[test]
fn the_comparison_of_round_trips_can_fail() {
    let mut out = Vec::new();
    differences(
        "$",
        &normalise(&json!({"a": [], "b": 1.5, "t": "2015-03-12T17:56:20.925043-07:00"})),
        &normalise(&json!({"b": 1, "t": "2015-03-12T17:56:20.925043Z"})),
        &mut out,
    );
    assert_eq!(out.len(), 3, "{out:?}");
    let mut out = Vec::new();
    differences(
        "$",
        &normalise(&json!({"a": null, "n": 1.0, "t": "2015-03-12T17:56:20.925043-07:00"})),
        &normalise(&json!({"n": 1, "t": "2015-03-13T00:56:20.925043Z"})),
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    let mut out = Vec::new();
    differences(
        "$",
        &normalise_strict(&json!({"a": null, "c": {"coreType": {"code": "x"}}})),
        &normalise_strict(&json!({"c": {"coreType": "x"}})),
        &mut out,
    );
    assert_eq!(out, ["$.a: lost (was null)"]);
}

#[test]
fn a_job_read_and_encoded_has_every_key_it_came_with_at_every_level() {
    for name in ["job.json", "job_created.json", "job_with_nulls.json"] {
        let original = fixture(name);
        let job: Job = serde_json::from_value(original.clone()).unwrap();
        let encoded = serde_json::to_value(&job).unwrap();
        assert_same_keys_and_values(name, &original, &encoded);
    }
}

#[test]
fn job_survives_decode_then_encode() {
    assert_round_trip::<Job>("job.json");
}

#[test]
fn created_job_survives_decode_then_encode() {
    assert_round_trip::<Job>("job_created.json");
}

#[test]
fn file_and_file_lists_survive_decode_then_encode() {
    assert_round_trip::<JobFile>("file.json");
    assert_round_trip::<Page<JobFile>>("job_files.json");
    assert_round_trip::<Page<JobSummary>>("jobs_list.json");
    assert_round_trip::<Page<JobStatusEntry>>("job_statuses.json");
    assert_round_trip::<Page<ClusterStatusEntry>>("job_cluster_statuses.json");
}

#[test]
fn job_fixture_decodes_into_its_fields() {
    let job: Job = decode("job.json");
    assert_eq!(job.id, "aabbcc");
    assert_eq!(job.owner.as_deref(), Some("mark@rescale.com"));
    assert_eq!(job.include_nominal_run, Some(false));
    assert_eq!(job.monte_carlo_iterations, None);
    let a = &job.job_analyses[0];
    assert_eq!(a.analysis.version.as_deref(), Some("2.3.1-openmpi"));
    assert_eq!(a.analysis.version_name.as_deref(), Some("2.3.1"));
    assert_eq!(a.command, "./airFoil2D_DOE/Allrun");
    assert_eq!(a.hardware.cores_per_slot, 1);
    assert_eq!(a.hardware.slots, Some(1));
    assert_eq!(a.hardware.walltime, None);
    let summary = a.hardware.core_summary.as_ref().unwrap();
    assert_eq!(summary.number_of_nodes, Some(1)); // sent as 1.0
    assert_eq!(summary.memory_per_node, Some(3750));
    assert_eq!(a.input_files[0].id, "duMEdg");
    assert_eq!(
        a.input_files[0].name.as_deref(),
        Some("airfoid2d_doe.tar.gz")
    );
    let task = &a.template_tasks[0];
    assert_eq!(
        task.processed_filename.as_deref(),
        Some("airFoil2D_DOE/0/U")
    );
    assert_eq!(task.template_file.as_ref().unwrap().id, "qEMEdg");
    let v = &job.job_variables[1];
    assert_eq!(v.name, "Yvelocity");
    assert_eq!(v.variable_type, VariableType::Param);
    assert_eq!(v.display_order, Some(1));
    assert_eq!(
        v.value_generator_type,
        Some(ValueGeneratorType::Unspecified)
    );
    let param = job.param_file.unwrap();
    assert_eq!(param.file_type(), Some(FileType::Parameter));
    assert_eq!(param.decrypted_size, Some(55));
}

#[test]
fn every_fixture_decodes() {
    let list: Page<JobSummary> = decode("jobs_list.json");
    assert_eq!(list.results.len(), 3);
    assert_eq!(
        list.results[0].date_inserted,
        Some(
            Utc.with_ymd_and_hms(2015, 3, 13, 23, 43, 21).unwrap()
                + chrono::Duration::microseconds(223_052)
        )
    );
    assert_eq!(list.results[0].storage, Some(8_014_908));
    assert_eq!(list.results[0].analysis_names, ["OpenFOAM"]);

    let created: Job = decode("job_created.json");
    assert_eq!(created.id, "LeeKa");

    let files: Page<JobFile> = decode("job_files.json");
    assert_eq!(files.results[0].id, "xTyjeg");

    let statuses: Page<JobStatusEntry> = decode("job_statuses.json");
    assert_eq!(statuses.results.len(), 6);
    let cluster: Page<ClusterStatusEntry> = decode("job_cluster_statuses.json");
    assert_eq!(cluster.results[2].status, ClusterStatus::StopRequested);

    let patched: PatchedJob = decode("job_patched.json");
    assert_eq!(patched.name.as_deref(), Some("Jobster"));
    let shared: ShareResult = decode("job_shared.json");
    assert_eq!(shared.recipient.as_deref(), Some("support@rescale.com"));

    let request: NewJob = decode("job_create_request.json");
    assert_eq!(request.name, "Example Job");
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        fixture("job_create_request.json")
    );

    // The crate has no models for these catalogues yet; they must still be pages.
    let analyses: Page<Value> = decode("analyses.json");
    assert_eq!(analyses.count, Some(88));
    assert_eq!(
        analyses.next.as_deref(),
        Some("https://platform.rescale.com/api/v2/analyses/?page=2")
    );
    assert_eq!(analyses.previous, None);
    let coretypes: Page<Value> = decode("coretypes.json");
    assert_eq!(
        coretypes.next.as_deref(),
        Some("https://platform.rescale.com/api/v2/coretypes?page=2")
    );
    let runs: Page<Value> = decode("runs.json");
    assert_eq!(runs.count, Some(121));
}

#[test]
fn file_fixture_decodes_with_its_offset_date() {
    let file: JobFile = decode("file.json");
    assert_eq!(file.id, "WvNKdb");
    assert_eq!(file.file_type(), Some(FileType::Input));
    assert_eq!(file.decrypted_size, Some(56_425_931));
    assert_eq!(
        file.md5.as_deref(),
        Some("a3bc423552cf5457b2fcf4fad87e451d")
    );
    assert_eq!(file.is_deleted, Some(false));
    // 17:56:20 at -07:00 is 00:56:20 the next day in UTC.
    assert_eq!(
        file.date_uploaded.unwrap().to_rfc3339(),
        "2015-03-13T00:56:20.925043+00:00"
    );
    assert_eq!(file.sha512(), None);
}

#[test]
fn sha512_checksum_and_unknown_type_ids_are_read() {
    let file: JobFile = serde_json::from_value(json!({
        "id": "f", "name": "out.txt", "typeId": 42,
        "fileChecksums": [{"hashFunction": "sha512", "fileHash": "abcd"}]
    }))
    .unwrap();
    assert_eq!(file.sha512(), Some("abcd"));
    assert_eq!(file.file_type(), Some(FileType::Other(42)));
}

#[test]
fn core_type_object_decodes_and_the_code_is_sent() {
    let mut job = fixture("job_created.json");
    job["jobanalyses"][0]["hardware"]["coreType"] =
        json!({"code": "emerald", "name": "Emerald", "cores": [1, 2, 4]});
    let job: Job = serde_json::from_value(job).unwrap();
    let hardware = &job.job_analyses[0].hardware;
    assert_eq!(hardware.core_type_code(), "emerald");
    assert_eq!(
        hardware.core_type.details.as_ref().unwrap()["name"],
        json!("Emerald")
    );
    let encoded = serde_json::to_value(&job).unwrap();
    assert_eq!(encoded["jobanalyses"][0]["hardware"]["coreType"], "emerald");
}

#[test]
fn every_documented_status_decodes_in_both_spellings() {
    let job = [
        ("Pending", "PENDING", JobStatus::Pending),
        (
            "Waiting for Queue",
            "WAITING_FOR_QUEUE",
            JobStatus::WaitingForQueue,
        ),
        ("Queued", "QUEUED", JobStatus::Queued),
        ("Started", "STARTED", JobStatus::Started),
        ("Validated", "VALIDATED", JobStatus::Validated),
        ("Executing", "EXECUTING", JobStatus::Executing),
        ("Completed", "COMPLETED", JobStatus::Completed),
        ("Stopping", "STOPPING", JobStatus::Stopping),
        (
            "Waiting for Cluster",
            "WAITING_FOR_CLUSTER",
            JobStatus::WaitingForCluster,
        ),
        ("Force Stop", "FORCE_STOP", JobStatus::ForceStop),
    ];
    for (display, upper, want) in job {
        for text in [display, upper] {
            let got: JobStatus = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(got, want, "{text}");
        }
        assert_eq!(want.as_str(), display);
        assert_eq!(want.api_name(), upper);
        assert_eq!(serde_json::to_value(&want).unwrap(), json!(display));
    }
    let cluster = [
        ("Not Started", ClusterStatus::NotStarted),
        ("Pending", ClusterStatus::Pending),
        ("Queued", ClusterStatus::Queued),
        ("Starting", ClusterStatus::Starting),
        ("Started", ClusterStatus::Started),
        ("Stop Requested", ClusterStatus::StopRequested),
        ("Stopping", ClusterStatus::Stopping),
        ("Stopped", ClusterStatus::Stopped),
        ("Unknown", ClusterStatus::Unknown),
        ("Error", ClusterStatus::Error),
    ];
    for (display, want) in cluster {
        let upper = display.to_uppercase().replace(' ', "_");
        for text in [display, upper.as_str()] {
            let got: ClusterStatus = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(got, want, "{text}");
        }
    }
}

#[test]
fn unknown_statuses_decode_into_other_and_keep_their_text() {
    let entries: Page<JobStatusEntry> = serde_json::from_value(json!({
        "count": 3, "results": [
            {"status": "Force Stopped", "statusDate": "2016-04-21T17:24:34.898495+00:00",
             "statusReason": "User Terminated"},
            {"status": "Failed", "statusDate": "2016-04-21T10:24:34-07:00"},
            {"status": "Stopped", "statusDate": null, "statusReason": null}
        ]
    }))
    .unwrap();
    assert_eq!(
        entries.results[0].status,
        JobStatus::Other("Force Stopped".into())
    );
    assert_eq!(entries.results[1].status, JobStatus::Other("Failed".into()));
    assert_eq!(
        entries.results[2].status,
        JobStatus::Other("Stopped".into())
    );
    // A `Z` and a numeric offset both decode, to the same instant here.
    assert_eq!(
        entries.results[0].status_date,
        "2016-04-21T17:24:34.898495Z".parse::<DateTime<Utc>>().ok()
    );
    assert_eq!(
        entries.results[1].status_date.unwrap().to_rfc3339(),
        "2016-04-21T17:24:34+00:00"
    );
    assert_eq!(
        serde_json::to_value(&entries.results[0].status).unwrap(),
        json!("Force Stopped")
    );
    let c: ClusterStatus = serde_json::from_value(json!("Hibernating")).unwrap();
    assert_eq!(c, ClusterStatus::Other("Hibernating".into()));

    let summary: JobSummary = serde_json::from_value(json!({
        "id": "x", "jobStatus": {"content": "Force Stopped"}, "clusterStatusDisplay": null
    }))
    .unwrap();
    assert_eq!(
        summary.status(),
        Some(JobStatus::Other("Force Stopped".into()))
    );
    assert_eq!(summary.cluster_status(), None);
}

#[tokio::test]
async fn unknown_job_fields_survive_get_then_put() {
    let server = MockServer::start().await;
    let mut stored = fixture("job_created.json");
    stored["billingPriorityValue"] = json!("ON_DEMAND_PRIORITY");
    stored["userTags"] = json!(["cfd", "nightly"]);
    stored["cidrRule"] = json!("0.0.0.0/0");
    stored["sshPort"] = json!(22);
    stored["jobanalyses"][0]["futureAnalysisField"] = json!({"nested": [1, 2]});
    stored["jobanalyses"][0]["hardware"]["futureHardwareField"] = json!(true);
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored.clone()))
        .expect(1)
        .mount(&server)
        .await;

    let jobs = client(&server).jobs();
    let mut job = jobs.get("LeeKa").await.unwrap();
    job.name = "Renamed".into();
    jobs.update(&job.id, &job).await.unwrap();

    let all = requests(&server).await;
    assert_eq!(all.len(), 2);
    let put = &all[1];
    assert_eq!(put.method.as_str(), "PUT");
    let sent: Value = put.body_json().unwrap();
    assert_eq!(sent["name"], "Renamed");
    assert_eq!(sent["billingPriorityValue"], "ON_DEMAND_PRIORITY");
    assert_eq!(sent["userTags"], json!(["cfd", "nightly"]));
    assert_eq!(sent["cidrRule"], "0.0.0.0/0");
    assert_eq!(sent["sshPort"], 22);
    assert_eq!(
        sent["jobanalyses"][0]["futureAnalysisField"],
        json!({"nested": [1, 2]})
    );
    assert_eq!(
        sent["jobanalyses"][0]["hardware"]["futureHardwareField"],
        true
    );
    // Everything else that came is sent back as well.
    let mut want = stored;
    want["name"] = json!("Renamed");
    let mut out = Vec::new();
    differences("$", &normalise(&want), &normalise(&sent), &mut out);
    assert!(out.is_empty(), "the PUT lost fields:\n{}", out.join("\n"));
}

#[test]
fn a_new_job_sends_the_lists_it_uses() {
    use rescale::jobs::{Hardware, InputFile, JobAnalysis};
    let job = NewJob::new(
        "With inputs",
        vec![
            JobAnalysis::new("user_included", "ls", Hardware::new("emerald", 2).slots(1))
                .input_file(InputFile::new("abc").decompress(true))
                .env("OMP_NUM_THREADS", "2"),
        ],
    );
    assert_eq!(
        serde_json::to_value(&job).unwrap(),
        json!({
            "name": "With inputs",
            "jobanalyses": [{
                "analysis": {"code": "user_included"},
                "command": "ls",
                "hardware": {"coreType": "emerald", "coresPerSlot": 2, "slots": 1},
                "inputFiles": [{"id": "abc", "decompress": true}],
                "envVars": {"OMP_NUM_THREADS": "2"}
            }]
        })
    );
}

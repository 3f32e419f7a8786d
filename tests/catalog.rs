//! Catalogues: analyses and core types, and checking a job against a core type.

mod common;

use common::{client_at, fixture};
use futures::TryStreamExt;
use rescale::Error;
use rescale::catalog::CoreType;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Serves `coretypes/` as one page (the fixture, without its `next`).
async fn mount_core_types(server: &MockServer, times: u64) {
    let mut page = fixture("coretypes.json");
    page["next"] = Value::Null;
    Mock::given(method("GET"))
        .and(path("/api/v2/coretypes/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .expect(times)
        .mount(server)
        .await;
}

fn core_type(changes: Value) -> CoreType {
    let mut value = fixture("coretypes.json")["results"][0].clone();
    for (k, v) in changes.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn job(core_type: &str, cores: u32) -> NewJob {
    NewJob::new(
        "Example",
        vec![
            JobAnalysis::new("user_included", "echo hi", Hardware::new(core_type, cores))
                .version("0"),
        ],
    )
}

fn invalid_field(err: &Error) -> &str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other}"),
    }
}

#[tokio::test]
async fn analyses_stream_across_pages_and_decode() {
    let server = MockServer::start().await;
    let mut first = fixture("analyses.json");
    first["next"] = json!(format!("{}/api/v2/analyses/?page=2", server.uri()));
    let mut second = json!({"count": 2, "next": null, "results": [first["results"][0].clone()]});
    second["results"][0]["code"] = json!("openfoam");
    Mock::given(method("GET"))
        .and(path("/api/v2/analyses/"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analyses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(1)
        .mount(&server)
        .await;

    let all: Vec<_> = client_at(&server.uri())
        .catalog()
        .analyses()
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(
        all.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(),
        ["abaqus", "openfoam"]
    );
    let abaqus = &all[0];
    assert_eq!(abaqus.name, "Abaqus");
    let version = abaqus.version("6.14.1-pcmpi").unwrap();
    assert_eq!(version.version.as_deref(), Some("6.14-1"));
    assert!(
        version
            .allowed_core_types
            .iter()
            .any(|c| c == "standard-plus")
    );
    assert!(abaqus.extra.contains_key("industries"));
}

#[tokio::test]
async fn analysis_by_code_reads_pages_only_until_found() {
    let server = MockServer::start().await;
    let mut first = fixture("analyses.json");
    first["next"] = json!(format!("{}/api/v2/analyses/?page=2", server.uri()));
    Mock::given(method("GET"))
        .and(path("/api/v2/analyses/"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"next": null, "results": []})),
        )
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analyses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(2)
        .mount(&server)
        .await;
    let catalog = client_at(&server.uri()).catalog();

    // Found on page 1: page 2 is not read.
    let found = catalog.analysis("abaqus").await.unwrap().unwrap();
    assert_eq!(found.code, "abaqus");
    // Not found: every page is read.
    assert!(catalog.analysis("no-such").await.unwrap().is_none());
    let err = catalog.analysis(" ").await.unwrap_err();
    assert_eq!(invalid_field(&err), "code");
}

#[tokio::test]
async fn core_types_decode_prices_of_both_shapes() {
    let server = MockServer::start().await;
    mount_core_types(&server, 1).await;
    let all: Vec<_> = client_at(&server.uri())
        .catalog()
        .core_types()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let marble = &all[0];
    assert_eq!(marble.code, "standard-plus");
    assert_eq!(marble.cores, [1, 2, 4, 8]);
    assert_eq!(marble.price, Some(0.1));
    assert_eq!(marble.low_priority_price.as_deref(), Some("0.050"));
    assert_eq!(marble.low_priority_price_value(), Some(0.05));
    assert!(!marble.walltime_required);
    assert!(!marble.is_deprecated);
    assert_eq!(all[1].display_order, None);
    assert!(marble.extra.contains_key("hasSsd"));
}

#[test]
fn cores_per_slot_must_be_offered() {
    let ct = core_type(json!({}));
    assert!(ct.check(&job("standard-plus", 4)).is_ok());
    let err = ct.check(&job("standard-plus", 3)).unwrap_err();
    assert_eq!(
        invalid_field(&err),
        "job_analyses[0].hardware.cores_per_slot"
    );
    assert!(err.to_string().contains("[1, 2, 4, 8]"), "{err}");
}

#[test]
fn walltime_is_required_where_the_core_type_says_so() {
    let ct = core_type(json!({"walltimeRequired": true}));
    let err = ct.check(&job("standard-plus", 2)).unwrap_err();
    assert_eq!(invalid_field(&err), "job_analyses[0].hardware.walltime");
    let mut with_walltime = job("standard-plus", 2);
    with_walltime.job_analyses[0].hardware = Hardware::new("standard-plus", 2).walltime_hours(4);
    assert!(ct.check(&with_walltime).is_ok());
}

#[test]
fn a_deprecated_core_type_is_refused() {
    let ct = core_type(json!({"isDeprecated": true}));
    let err = ct.check(&job("standard-plus", 1)).unwrap_err();
    assert_eq!(invalid_field(&err), "job_analyses[0].hardware.core_type");
    let err = ct
        .check_hardware(&Hardware::new("standard-plus", 1))
        .unwrap_err();
    assert_eq!(invalid_field(&err), "hardware.core_type");
}

#[test]
fn a_job_not_using_the_core_type_is_refused() {
    let ct = core_type(json!({}));
    let err = ct.check(&job("emerald", 1)).unwrap_err();
    assert_eq!(invalid_field(&err), "job_analyses");
}

#[tokio::test]
async fn check_job_reads_the_catalogue_and_names_the_failing_analysis() {
    let server = MockServer::start().await;
    // Read once for the client's lifetime, however many jobs are checked.
    mount_core_types(&server, 1).await;
    let mut analyses = fixture("analyses.json");
    analyses["next"] = Value::Null;
    analyses["results"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "user_included", "name": "Custom", "versions": [{"version": "0", "versionCode": "0"}]}));
    for (at, body) in [
        ("/api/v2/analyses/", analyses),
        ("/api/v2/users/me/", json!({"maxJobHours": 72})),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let catalog = client_at(&server.uri()).catalog();

    let mut two = job("standard-plus", 8);
    two.job_analyses.push(JobAnalysis::new(
        "user_included",
        "echo 2",
        Hardware::new("test", 2),
    ));
    let err = catalog.check_job(&two).await.unwrap_err();
    assert_eq!(
        invalid_field(&err),
        "job_analyses[1].hardware.cores_per_slot"
    );

    let err = catalog.check_job(&job("unheard-of", 1)).await.unwrap_err();
    assert_eq!(invalid_field(&err), "job_analyses[0].hardware.core_type");

    catalog.check_job(&job("test", 1)).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path() != "/api/v2/users/me/")
            .all(|r| r.url.query() == Some("page_size=1000"))
    );
}

//! The account, prices, the pre-flight check, the file library and job attachments,
//! against wiremock: the exact requests and the decoding of the answers.

mod common;

use common::{assert_auth, client, fixture, only_request, requests};
use futures::TryStreamExt;
use rescale::Error;
use rescale::files::FileType;
use rescale::jobs::{Hardware, JobAnalysis, NewJob};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn body(req: &wiremock::Request) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

#[tokio::test]
async fn me_reads_the_user_and_keeps_unknown_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/me/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "email": "a@b.c", "firstName": "Ada", "maxJobHours": "48", "company": {"name": "X"}
        })))
        .mount(&server)
        .await;
    let me = client(&server).account().me().await.unwrap();
    assert_eq!(me.id.as_deref(), Some("42"));
    assert_eq!(me.max_job_hours, Some(48.0));
    assert_eq!(me.extra["company"]["name"], "X");
    assert_auth(&only_request(&server).await);
}

#[tokio::test]
async fn projects_are_a_paginated_list() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/me/projects/"))
        .and(query_param("page_size", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2, "next": null, "results": [{"id": "p1", "name": "CFD"}, {"id": 7, "name": null}]
        })))
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .account()
        .projects()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all[0].id.as_deref(), Some("p1"));
    assert_eq!(all[1].id.as_deref(), Some("7"));
}

#[tokio::test]
async fn compute_prices_are_a_bare_list_with_amount_and_currency() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/billing/computeprices/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"coreType": "emerald", "planType": "on-demand", "planName": "On Demand", "os": "linux",
             "isActive": true, "value": {"amount": 0.22, "currency": "USD"}},
            {"coreType": {"code": "onyx"}, "value": {"amount": "1.5", "currency": "EUR"}, "newField": 1},
            {}
        ])))
        .mount(&server)
        .await;
    let prices = client(&server).billing().compute_prices().await.unwrap();
    assert_eq!(prices.len(), 3);
    assert_eq!(prices[0].core_type.as_deref(), Some("emerald"));
    assert_eq!(prices[0].plan_type.as_deref(), Some("on-demand"));
    let v = prices[0].value.as_ref().unwrap();
    assert_eq!((v.amount, v.currency.as_deref()), (Some(0.22), Some("USD")));
    assert_eq!(prices[1].core_type.as_deref(), Some("onyx"));
    assert_eq!(prices[1].value.as_ref().unwrap().amount, Some(1.5));
    assert_eq!(prices[1].extra["newField"], 1);
    assert!(prices[2].value.is_none());
}

/// Serves the catalogues, the user (max 24 hours) and its projects.
async fn mount_account_and_catalogues(server: &MockServer) {
    let mut core_types = fixture("coretypes.json");
    core_types["next"] = Value::Null;
    let mut analyses = fixture("analyses.json");
    analyses["next"] = Value::Null;
    let routes = [
        ("/api/v2/coretypes/", core_types),
        ("/api/v2/analyses/", analyses),
        (
            "/api/v2/users/me/",
            json!({"email": "a@b.c", "maxJobHours": 24}),
        ),
        (
            "/api/v2/users/me/projects/",
            json!({"count": 1, "next": null, "results": [{"id": "pCfd", "name": "CFD"}]}),
        ),
    ];
    for (at, body) in routes {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }
}

fn abaqus(core_type: &str, cores: u32, hours: u32) -> NewJob {
    NewJob::new(
        "Crash",
        vec![
            JobAnalysis::new(
                "abaqus",
                "abaqus job=crash",
                Hardware::new(core_type, cores).walltime_hours(hours),
            )
            .version("6.14.1-pcmpi"),
        ],
    )
}

#[tokio::test]
async fn preflight_reports_every_problem_with_its_field() {
    let server = MockServer::start().await;
    mount_account_and_catalogues(&server).await;
    let catalog = client(&server).catalog();

    catalog
        .check_job(&abaqus("standard-plus", 1, 24))
        .await
        .unwrap();
    catalog
        .check_job(&abaqus("standard-plus", 1, 2).project_id("pCfd"))
        .await
        .unwrap();

    let mut bad = abaqus("standard-plus", 1, 100).project_id("nope");
    bad.name = "  ".into();
    bad.job_analyses
        .push(JobAnalysis::new("abaqus", "x", Hardware::new("unheard-of", 1)).version("9.9"));
    bad.job_analyses.push(JobAnalysis::new(
        "nastran",
        "x",
        Hardware::new("standard-plus", 1),
    ));
    let problems = catalog.preflight(&bad).await.unwrap();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "job_analyses[0].hardware.walltime",
            "job_analyses[1].hardware.core_type",
            "job_analyses[1].analysis.version",
            "job_analyses[2].analysis.code",
            "project_id",
        ]
    );
    assert!(
        problems[0].reason.contains("blank"),
        "{}",
        problems[0].reason
    );
    assert!(problems[1].reason.contains("24"), "{}", problems[1].reason);

    let err = catalog.check_job(&bad).await.unwrap_err();
    match &err {
        Error::InvalidInput { field, reason } => {
            assert_eq!(field, "name");
            assert!(reason.contains("and 5 more"), "{reason}");
            assert!(reason.contains("project_id"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Nothing but reads: the check creates nothing.
    assert!(
        requests(&server)
            .await
            .iter()
            .all(|r| r.method.as_str() == "GET")
    );
}

#[tokio::test]
async fn checking_many_jobs_reads_each_thing_once_per_client_and_refresh_rereads() {
    let server = MockServer::start().await;
    mount_account_and_catalogues(&server).await;
    let client = client(&server);
    let job = abaqus("standard-plus", 1, 10).project_id("pCfd");
    for i in 0..200 {
        // Clones share the cache.
        let catalog = if i % 2 == 0 {
            client.catalog()
        } else {
            client.clone().catalog()
        };
        catalog.check_job(&job).await.unwrap();
    }
    let mut paths: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/v2/analyses/",
            "/api/v2/coretypes/",
            "/api/v2/users/me/",
            "/api/v2/users/me/projects/"
        ]
    );
    client.catalog().refresh().await;
    client.catalog().check_job(&job).await.unwrap();
    assert_eq!(requests(&server).await.len(), 8);
}

#[tokio::test]
async fn file_library_requests() {
    let server = MockServer::start().await;
    let file = fixture("file.json");
    let id = file["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path("/api/v2/files/"))
        .and(query_param("search", "mesh a"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 1, "next": null, "results": [file.clone()]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v2/files/{id}/")))
        .and(body_json(json!({"name": "renamed.inp"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(file.clone()))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v2/files/{id}/")))
        .and(body_json(json!({"typeId": 11})))
        .respond_with(ResponseTemplate::new(200).set_body_json(file.clone()))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/files/a%2Fb/"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/files/{id}/lines/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("file_lines.json")))
        .mount(&server)
        .await;

    let files = client(&server).files();
    let found: Vec<_> = files
        .list()
        .search("mesh a")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found[0].id, id);
    files.rename(&id, "renamed.inp").await.unwrap();
    files.set_type(&id, FileType::Checkpoint).await.unwrap();
    files.delete("a/b").await.unwrap();
    let lines = files.lines(&id).await.unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], "This is line 1.\n");

    let err = files.rename(&id, "  ").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "name"));
    let err = files.delete("..").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "id"));
    let seen: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[3], "DELETE /api/v2/files/a%2Fb/");
}

#[tokio::test]
async fn attachments_send_the_documented_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/j%201/storage-devices/"))
        .and(body_json(json!({"storageDevice": {"id": "sd1"}})))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/jobs/j%201/custom-fields/"))
        .and(body_json(json!({"costCenter": "42"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"costCenter": "42"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j%201/instances/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "next": null, "results": [
                {"id": 3, "role": "MPI_MASTER", "publicHostname": "h.example", "sshPort": "2222", "username": "u", "zone": "z"}
            ]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/j%201/connection_details/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "connectionDetails": [{"host": "h.example", "port": 22}]
        })))
        .mount(&server)
        .await;
    let jobs = client(&server).jobs();
    jobs.attach_storage_device("j 1", "sd1").await.unwrap();
    jobs.set_custom_fields("j 1", &json!({"costCenter": "42"}))
        .await
        .unwrap();
    let instances: Vec<_> = jobs.instances("j 1").stream().try_collect().await.unwrap();
    assert_eq!(instances[0].role.as_deref(), Some("MPI_MASTER"));
    assert_eq!(instances[0].ssh_port, Some(2222));
    assert_eq!(instances[0].extra["zone"], "z");
    let details = jobs.connection_details("j 1").await.unwrap();
    assert_eq!(
        details.connection_details[0].host.as_deref(),
        Some("h.example")
    );
    assert_eq!(details.connection_details[0].port, Some(22));
    let all = requests(&server).await;
    assert_eq!(all.len(), 4);
    assert_eq!(body(&all[0]), json!({"storageDevice": {"id": "sd1"}}));

    let err = jobs.attach_storage_device("j", " ").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "device_id"));
}

#[tokio::test]
async fn attaching_storage_is_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = client(&server)
        .jobs()
        .attach_storage_device("j", "sd1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(requests(&server).await.len(), 1);
}

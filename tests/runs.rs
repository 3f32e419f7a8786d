//! Runs of a job: list (paginated), one run, one run's files.

mod common;

use common::{client_at, fixture};
use futures::TryStreamExt;
use rescale::Error;
use rescale::jobs::RunType;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn runs_decode_with_type_and_variables_across_pages() {
    let server = MockServer::start().await;
    let mut first = fixture("runs.json");
    first["next"] = json!(format!("{}/api/v2/jobs/XXXXXX/runs/?page=2", server.uri()));
    let mut last = json!({"count": 3, "next": null, "previous": null, "results": [first["results"][0].clone()]});
    last["results"][0]["id"] = json!(3); // a number in place of a string
    last["results"][0]["type"] = json!(7);
    last["results"][0]["futureField"] = json!({"kept": true});
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/XXXXXX/runs/"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(last))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/XXXXXX/runs/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(1)
        .mount(&server)
        .await;

    let runs: Vec<_> = client_at(&server.uri())
        .jobs()
        .runs("XXXXXX")
        .page_size(2)
        .concurrency(1)
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(runs.len(), 3);
    let run = &runs[0];
    assert_eq!(run.id, "1");
    assert_eq!(run.display_order, Some(1));
    assert_eq!(run.run_type, Some(RunType::Case));
    assert_eq!(run.output_file_count, Some(66));
    assert_eq!(run.output_file_size, Some(8018226));
    assert_eq!(run.variables.len(), 4);
    let cd = run.variable("Cd").unwrap();
    assert_eq!(cd.number(), Some(-0.0187556));
    assert_eq!(cd.display_value.as_deref(), Some("-0.0187556"));
    assert_eq!(cd.is_relative, Some(false));
    assert!(run.date_completed.unwrap() > run.date_started.unwrap());
    assert_eq!(runs[2].id, "3");
    assert_eq!(runs[2].run_type, Some(RunType::Other(7)));
    assert_eq!(runs[2].extra["futureField"], json!({"kept": true}));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("page_size=2"));
    // The next link dropped page_size; it is put back.
    assert_eq!(requests[1].url.query(), Some("page=2&page_size=2"));
}

#[tokio::test]
async fn one_run_and_its_files() {
    let server = MockServer::start().await;
    let run = fixture("runs.json")["results"][1].clone();
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/OsKBd/runs/2/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/OsKBd/runs/2/files/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_files.json")))
        .expect(1)
        .mount(&server)
        .await;
    let jobs = client_at(&server.uri()).jobs();

    let run = jobs.run("OsKBd", "2").await.unwrap();
    assert_eq!(run.id, "2");
    assert_eq!(run.variable("y_velocity").unwrap().number(), Some(3.5));

    let page = jobs.run_files("OsKBd", "2").page(1).await.unwrap();
    assert_eq!(page.results.len(), 1);
    assert_eq!(
        page.results[0].relative_path.as_deref(),
        Some("airFoil2D/system/fvSchemes")
    );
}

#[tokio::test]
async fn run_ids_are_escaped_and_blank_ones_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/OsKBd/runs/a%2Fb/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .expect(1)
        .mount(&server)
        .await;
    let jobs = client_at(&server.uri()).jobs();

    let err = jobs.run("OsKBd", "a/b").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let err = jobs.run("OsKBd", " ").await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "run_id"));
    let err = jobs.run_files("OsKBd", "..").page(1).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "run_id"));
}

//! Catalogues, pagination, seeding and request recording.

mod common;

use common::Api;
use rescale_fake::FakeConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn catalogues() {
    let api = Api::new().await;
    let (status, analyses) = api.get("analyses/").await;
    assert_eq!(status, 200);
    assert_eq!(analyses["count"], 5);
    assert_eq!(analyses["next"], Value::Null);
    let user = analyses["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "user_included")
        .expect("user_included");
    assert_eq!(user["name"], "Custom User-Defined Software");
    assert_eq!(user["versions"][0]["version"], "0");
    assert!(
        user["versions"][0]["allowedCoreTypes"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );

    let (status, cores) = api.get("coretypes/").await;
    assert_eq!(status, 200);
    assert_eq!(cores["count"], 6);
    let results = cores["results"].as_array().unwrap();
    let by_code = |code: &str| results.iter().find(|c| c["code"] == code).unwrap().clone();
    let marble = by_code("standard-plus");
    assert_eq!(marble["name"], "Marble");
    assert_eq!(marble["cores"], json!([1, 2, 4, 8]));
    assert_eq!(marble["price"].as_f64(), Some(0.1));
    assert_eq!(marble["lowPriorityPrice"], "0.050");
    assert_eq!(by_code("emerald")["name"], "Emerald");
    assert_eq!(
        results
            .iter()
            .filter(|c| c["walltimeRequired"] == true)
            .count(),
        1
    );
    assert_eq!(
        results.iter().filter(|c| c["isDeprecated"] == true).count(),
        1
    );
    assert!(
        results
            .iter()
            .all(|c| c["lowPriorityPrice"].is_string() && c["price"].is_number())
    );
    assert_eq!(api.fake.request_count("GET coretypes/"), 1);
    assert_eq!(api.fake.request_count("GET analyses/"), 1);
}

#[tokio::test]
async fn pagination_links_and_limits() {
    let api = Api::with(FakeConfig {
        max_page_size: 20,
        ..FakeConfig::default()
    })
    .await;
    api.fake.seed_jobs(25);
    let base = &api.base;

    let (status, page) = api.get("jobs/").await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 25);
    assert_eq!(page["results"].as_array().unwrap().len(), 10);
    assert_eq!(page["next"], format!("{base}jobs/?page=2&page_size=10"));
    assert_eq!(page["previous"], Value::Null);
    // Newest first.
    assert_eq!(page["results"][0]["name"], "Seeded job 25");
    assert_eq!(page["results"][0]["jobStatus"]["content"], "Completed");
    assert_eq!(
        page["results"][0]["clusterStatusDisplay"]["content"],
        "Stopped"
    );

    let (_, page) = api.get("jobs/?page=3").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert_eq!(page["next"], Value::Null);
    assert_eq!(page["previous"], format!("{base}jobs/?page=2&page_size=10"));
    assert_eq!(page["results"][4]["name"], "Seeded job 1");

    for rel in ["jobs/?page=4", "jobs/?page=0", "jobs/?page=abc"] {
        let (status, body) = api.get(rel).await;
        assert_eq!(status, 404, "{rel}");
        assert_eq!(body, json!({"detail": "Invalid page."}));
    }

    let (_, page) = api.get("jobs/?page_size=50").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 20);
    assert_eq!(page["next"], format!("{base}jobs/?page=2&page_size=20"));

    let (_, page) = api.get("jobs/?state=completed&page_size=7&page=2").await;
    assert_eq!(page["count"], 25);
    assert_eq!(
        page["next"],
        format!("{base}jobs/?page=3&page_size=7&state=completed")
    );
    assert_eq!(
        page["previous"],
        format!("{base}jobs/?page=1&page_size=7&state=completed")
    );

    // An empty list still has a first page.
    let id = api.create_job("draft", "echo").await;
    let (status, page) = api.get(&format!("jobs/{id}/statuses/")).await;
    assert_eq!(status, 200);
    assert_eq!(
        page,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    assert_eq!(api.get(&format!("jobs/{id}/statuses/?page=2")).await.0, 404);
}

#[tokio::test]
async fn ten_thousand_jobs_in_ten_pages() {
    let api = Api::new().await;
    api.fake.seed_jobs(10_000);
    let mut url = api.url("jobs/?page_size=1000");
    let mut ids = std::collections::HashSet::new();
    let mut pages = 0;
    loop {
        let resp = api
            .http
            .get(&url)
            .header("Authorization", format!("Token {}", api.key))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.unwrap();
        assert_eq!(page["count"], 10_000);
        pages += 1;
        for job in page["results"].as_array().unwrap() {
            ids.insert(job["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 10);
    assert_eq!(ids.len(), 10_000);
    assert_eq!(api.fake.request_count("GET jobs/"), 10);
    assert_eq!(api.get("jobs/?page_size=1000&page=11").await.0, 404);

    let (_, page) = api.get("jobs/?state=not_completed").await;
    assert_eq!(page["count"], 0);
    let (_, page) = api.get("jobs/?job_status=COMPLETED&page_size=1").await;
    assert_eq!(page["count"], 10_000);
    let (_, page) = api.get("jobs/?job_status=EXECUTING").await;
    assert_eq!(page["count"], 0);

    // A seeded job has a full definition and histories.
    let id = ids.iter().next().unwrap();
    let (status, job) = api.get(&format!("jobs/{id}/")).await;
    assert_eq!(status, 200);
    assert!(job["name"].as_str().unwrap().starts_with("Seeded job "));
    let statuses = api.statuses(id).await;
    assert_eq!(statuses.len(), 7);
    assert_eq!(statuses[0].0, "Completed");
    assert_eq!(statuses[0].1, "Completed successfully");
}

#[tokio::test]
async fn seeding_a_hundred_thousand_is_fast() {
    let api = Api::new().await;
    let started = std::time::Instant::now();
    api.fake.seed_jobs(100_000);
    let (status, page) = api.get("jobs/?page_size=1000&page=100").await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 100_000);
    assert_eq!(page["results"].as_array().unwrap().len(), 1000);
    assert_eq!(page["next"], Value::Null);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn requests_are_recorded() {
    let api = Api::new().await;
    let id = api.create_job("recorded", "echo").await;
    api.get(&format!("jobs/{id}/statuses/?page=1")).await;
    api.get(&format!("jobs/{id}/statuses/")).await;
    api.get("jobs/?page_size=5").await;

    assert_eq!(api.fake.request_count("POST jobs/"), 1);
    assert_eq!(api.fake.request_count("GET jobs/{id}/statuses/"), 2);
    assert_eq!(api.fake.request_count("GET jobs/"), 1);
    assert_eq!(api.fake.request_count("POST jobs/{id}/submit/"), 0);

    let requests = api.fake.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/api/v2/jobs/");
    assert_eq!(requests[0].status, 201);
    assert_eq!(requests[1].path, format!("/api/v2/jobs/{id}/statuses/"));
    assert_eq!(requests[1].endpoint, "GET jobs/{id}/statuses/");
    assert_eq!(requests[1].query.as_deref(), Some("page=1"));
    assert_eq!(requests[2].query, None);
    assert_eq!(requests[3].query.as_deref(), Some("page_size=5"));
    assert!(requests.iter().all(|r| r.range.is_none()));
}

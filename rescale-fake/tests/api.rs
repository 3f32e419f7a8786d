//! Auth, routing, job CRUD, sharing, catalogues, pagination, request recording.

mod common;

use common::{Api, job_request};
use reqwest::Method;
use rescale_fake::{FakeConfig, FakeRescale};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_or_wrong_credentials_are_401() {
    let api = Api::new().await;
    let http = reqwest::Client::new();

    let resp = http.get(api.url("jobs/")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Token");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );

    let resp = http
        .get(api.url("jobs/"))
        .header("Authorization", "Token not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Invalid token."}));

    for scheme in ["Token", "Bearer"] {
        let resp = http
            .get(api.url("jobs/"))
            .header("Authorization", format!("{scheme} {}", api.key))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
    assert_eq!(api.fake.request_count("GET jobs/"), 4);
    let statuses: Vec<u16> = api.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 401, 200, 200]);
}

#[tokio::test]
async fn configured_key_and_base_url() {
    let fake = FakeRescale::start_with(FakeConfig {
        api_key: Some("abc123".into()),
        ..FakeConfig::default()
    })
    .await;
    assert_eq!(fake.api_key(), "abc123");
    let base = fake.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(base.ends_with("/api/v2/"), "{base}");

    let default = FakeRescale::start().await;
    assert_eq!(default.api_key().len(), 40);
    assert!(!default.api_key().starts_with("ey"));
    assert_ne!(default.api_key(), FakeRescale::start().await.api_key());
}

#[tokio::test]
async fn paths_need_the_trailing_slash() {
    let api = Api::new().await;
    let id = api.create_job("slash", "echo hi").await;
    for rel in [
        "jobs".to_owned(),
        format!("jobs/{id}"),
        format!("jobs/{id}/statuses"),
        "coretypes".to_owned(),
        "nothing/here/".to_owned(),
        "jobs/a%2Fb/".to_owned(),
    ] {
        let (status, body) = api.get(&rel).await;
        assert_eq!(status, 404, "{rel}");
        assert_eq!(body, json!({"detail": "Not found."}), "{rel}");
    }
    assert_eq!(api.fake.request_count("GET jobs"), 1);
    assert_eq!(api.fake.request_count("GET jobs/{id}"), 1);
    assert_eq!(api.fake.request_count("GET nothing/here/"), 1);
    assert_eq!(api.fake.request_count("GET jobs/{id}/"), 1);

    let (status, body) = api.call(Method::DELETE, "analyses/", None).await;
    assert_eq!(status, 405);
    assert_eq!(body, json!({"detail": "Method \"DELETE\" not allowed."}));
}

#[tokio::test]
async fn create_answers_201_with_the_full_job() {
    let api = Api::new().await;
    let mut request = job_request("Example Job", "echo \"Hello world\"");
    request["userTags"] = json!(["a", "b"]);
    request["somethingNew"] = json!({"nested": [1, 2]});
    let resp = api
        .request(Method::POST, "jobs/")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let text = resp.text().await.unwrap();
    assert!(text.contains("\"numberOfNodes\":1.0"), "{text}");
    let job: Value = serde_json::from_str(&text).unwrap();

    let id = job["id"].as_str().unwrap();
    assert_eq!(id.len(), 5);
    assert_eq!(job["name"], "Example Job");
    assert_eq!(job["owner"], "user@example.com");
    assert_eq!(job["userTags"], json!(["a", "b"]));
    assert_eq!(job["somethingNew"], json!({"nested": [1, 2]}));
    for (key, value) in [
        ("archiveFilters", json!([])),
        ("caseFile", Value::Null),
        ("expectedRuns", Value::Null),
        ("includeNominalRun", json!(false)),
        ("isLowPriority", json!(false)),
        ("isTemplateDryRun", json!(false)),
        ("jobvariables", json!([])),
        ("monteCarloIterations", Value::Null),
        ("optimizer", Value::Null),
        ("paramFile", Value::Null),
        ("remoteVizConfig", Value::Null),
        ("resourceFilters", json!([])),
    ] {
        assert_eq!(job[key], value, "{key}");
    }
    assert!(job["dateInserted"].as_str().unwrap().ends_with("+00:00"));
    let analysis = &job["jobanalyses"][0];
    assert_eq!(
        analysis["analysis"],
        json!({"code": "user_included", "name": "Custom User-Defined Software", "version": "0", "versionName": ""})
    );
    assert_eq!(analysis["command"], "echo \"Hello world\"");
    assert_eq!(analysis["envVars"], json!({}));
    assert_eq!(analysis["inputFiles"], json!([]));
    assert_eq!(analysis["templateTasks"], json!([]));
    assert_eq!(analysis["postProcessScriptCommand"], "");
    assert_eq!(analysis["useRescaleLicense"], false);
    let hw = &analysis["hardware"];
    assert_eq!(hw["coreType"], "standard-plus");
    assert_eq!(hw["coresPerSlot"], 1);
    assert_eq!(hw["slots"], 1);
    assert_eq!(hw["walltime"], Value::Null);
    assert_eq!(hw["coreSummary"]["memoryPerNode"], 3750);
    assert_eq!(hw["coreSummary"]["numberOfNodes"].as_f64(), Some(1.0));
    assert_eq!(api.fake.request_count("POST jobs/"), 1);

    // coreType may be sent as an object; create answers the code string.
    let mut request = job_request("object core type", "echo hi");
    request["jobanalyses"][0]["hardware"]["coreType"] = json!({"code": "emerald"});
    let (status, job) = api.post("jobs/", request).await;
    assert_eq!(status, 201);
    assert_eq!(job["jobanalyses"][0]["hardware"]["coreType"], "emerald");
    assert_eq!(
        job["jobanalyses"][0]["hardware"]["coreSummary"]["memoryPerNode"],
        4000
    );
}

#[tokio::test]
async fn create_validation_errors_nest_like_the_request() {
    let api = Api::new().await;

    let (status, body) = api.post("jobs/", job_request("blank command", "  ")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"jobanalyses": [{"command": ["This field may not be blank."]}]})
    );

    let (status, body) = api
        .post("jobs/", json!({"name": "", "jobanalyses": []}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"name": ["This field may not be blank."], "jobanalyses": ["This list may not be empty."]})
    );

    let (status, body) = api.post("jobs/", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"name": ["This field is required."], "jobanalyses": ["This field is required."]})
    );

    let mut two = job_request("two", "echo ok");
    let mut bad = two["jobanalyses"][0].clone();
    bad["hardware"] = json!({"coreType": "", "coresPerSlot": 0, "slots": 0});
    two["jobanalyses"].as_array_mut().unwrap().push(bad);
    let (status, body) = api.post("jobs/", two).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"jobanalyses": [{}, {"hardware": {
            "coreType": ["This field may not be blank."],
            "coresPerSlot": ["Ensure this value is greater than or equal to 1."],
            "slots": ["Ensure this value is greater than or equal to 1."]
        }}]})
    );

    let mut missing = job_request("missing", "echo");
    missing["jobanalyses"][0]["hardware"] = json!({"coreType": {"code": ""}});
    let (status, body) = api.post("jobs/", missing).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"jobanalyses": [{"hardware": {
            "coreType": {"code": ["This field may not be blank."]},
            "coresPerSlot": ["This field is required."]
        }}]})
    );

    let mut unknown_file = job_request("file", "echo");
    unknown_file["jobanalyses"][0]["inputFiles"] = json!([{"id": "nope", "decompress": false}]);
    let (status, body) = api.post("jobs/", unknown_file).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"jobanalyses": [{"inputFiles": [{"id": ["Invalid pk \"nope\" - object does not exist."]}]}]})
    );

    let resp = api
        .request(Method::POST, "jobs/")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );

    let (_, list) = api.get("jobs/").await;
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn get_put_patch_and_unknown_ids() {
    let api = Api::new().await;
    let mut objects = 0;
    for n in 0..6 {
        let id = api.create_job(&format!("job {n}"), "echo hi").await;
        let (status, job) = api.get(&format!("jobs/{id}/")).await;
        assert_eq!(status, 200);
        assert_eq!(job["id"], id.as_str());
        let core = &job["jobanalyses"][0]["hardware"]["coreType"];
        let odd = id.bytes().map(u32::from).sum::<u32>() % 2 == 1;
        if odd {
            objects += 1;
            assert_eq!(core["code"], "standard-plus");
            assert_eq!(core["name"], "Marble");
        } else {
            assert_eq!(core, "standard-plus");
        }
    }
    assert!(objects > 0 && objects < 6, "both coreType shapes appear");

    let id = api.create_job("original", "echo hi").await;
    let (_, mut job) = api.get(&format!("jobs/{id}/")).await;
    job["name"] = json!("replaced");
    job["isLowPriority"] = json!(true);
    job["futureField"] = json!(42);
    let (status, put) = api
        .call(Method::PUT, &format!("jobs/{id}/"), Some(job))
        .await;
    assert_eq!(status, 200);
    assert_eq!(put["id"], id.as_str());
    assert_eq!(put["name"], "replaced");
    assert_eq!(put["isLowPriority"], true);
    assert_eq!(put["futureField"], 42);
    assert_eq!(
        put["jobanalyses"][0]["hardware"]["coreType"],
        "standard-plus"
    );

    let (status, bad) = api
        .call(
            Method::PUT,
            &format!("jobs/{id}/"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad, json!({"jobanalyses": ["This field is required."]}));

    let (status, patched) = api
        .call(
            Method::PATCH,
            &format!("jobs/{id}/"),
            Some(json!({"name": "Jobster", "isLowPriority": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        patched,
        json!({"id": id, "isLowPriority": false, "name": "Jobster"})
    );
    let (_, job) = api.get(&format!("jobs/{id}/")).await;
    assert_eq!(job["name"], "Jobster");
    assert_eq!(job["futureField"], 42);

    let (status, bad) = api
        .call(
            Method::PATCH,
            &format!("jobs/{id}/"),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad, json!({"name": ["This field may not be blank."]}));

    for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, body) = api
            .call(method.clone(), "jobs/zzzzzz/", Some(json!({})))
            .await;
        assert_eq!(status, 404, "{method}");
        assert_eq!(body, json!({"detail": "Not found."}));
    }
    for rel in [
        "jobs/zzzzzz/statuses/",
        "jobs/zzzzzz/files/",
        "jobs/zzzzzz/runs/",
        "jobs/zzzzzz/runs/1/",
        "files/zzzzzz/",
        "files/zzzzzz/contents/",
    ] {
        assert_eq!(api.get(rel).await.0, 404, "{rel}");
    }
    assert_eq!(api.post("jobs/zzzzzz/submit/", json!({})).await.0, 404);
    assert_eq!(api.fake.request_count("PUT jobs/{id}/"), 3);
    assert_eq!(api.fake.request_count("PATCH jobs/{id}/"), 3);
}

#[tokio::test]
async fn delete_a_draft_with_its_input_files() {
    let api = Api::new().await;
    let file_id = api.fake.add_file("input.tar.gz", b"payload".to_vec());
    let mut request = job_request("with input", "tar xf input.tar.gz");
    request["jobanalyses"][0]["inputFiles"] = json!([{"id": file_id, "decompress": true}]);
    let (status, job) = api.post("jobs/", request).await;
    assert_eq!(status, 201);
    let input = &job["jobanalyses"][0]["inputFiles"][0];
    assert_eq!(input["id"], file_id.as_str());
    assert_eq!(input["name"], "input.tar.gz");
    assert_eq!(input["typeId"], 1);
    assert_eq!(input["decryptedSize"], 7);
    let id = job["id"].as_str().unwrap();

    // Without deleteInputFiles the inputs stay.
    let other = api.create_job("plain", "echo").await;
    let resp = api
        .request(Method::DELETE, &format!("jobs/{other}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());

    let resp = api
        .request(Method::DELETE, &format!("jobs/{id}/?deleteInputFiles=True"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());
    assert_eq!(api.get(&format!("jobs/{id}/")).await.0, 404);
    assert_eq!(api.get(&format!("files/{file_id}/")).await.0, 404);
    let requests = api.fake.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.endpoint, "GET files/{id}/");
    assert_eq!(
        requests[requests.len() - 3].query.as_deref(),
        Some("deleteInputFiles=True")
    );
    assert_eq!(api.fake.request_count("DELETE jobs/{id}/"), 2);
}

#[tokio::test]
async fn share_answers_the_recipient() {
    let api = Api::new().await;
    let id = api.create_job("shared", "echo").await;
    let (status, body) = api
        .post(
            &format!("jobs/{id}/share/"),
            json!({"email": "colleague@example.com", "message": "have a look"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({"recipient": "colleague@example.com", "supportDesk": null})
    );
    let (status, body) = api
        .post(&format!("jobs/{id}/share/"), json!({"message": "no email"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"email": ["This field is required."]}));

    let (_, list) = api.get("jobs/").await;
    let summary = &list["results"][0];
    assert_eq!(summary["sharedWith"], json!(["colleague@example.com"]));
    assert_eq!(summary["name"], "shared");
    assert_eq!(
        summary["analysisNames"],
        json!(["Custom User-Defined Software"])
    );
    assert_eq!(
        summary["jobStatus"],
        json!({"content": "", "labelClass": "", "useLabel": false})
    );
    assert_eq!(summary["clusterStatusDisplay"]["content"], "");
    assert_eq!(summary["storage"], 0);
    assert_eq!(summary["isVisible"], true);
    assert!(summary["dateInserted"].as_str().unwrap().ends_with('Z'));
    assert_eq!(api.fake.request_count("POST jobs/{id}/share/"), 2);
}

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

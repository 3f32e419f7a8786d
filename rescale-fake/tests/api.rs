//! Auth, routing, job CRUD and sharing.

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

    // A live file's path names a file: it is routed with or without the slash.
    for rel in [
        format!("jobs/{id}/runs/1/tail/out/log"),
        format!("jobs/{id}/runs/1/tail/out/log/"),
    ] {
        api.get(&rel).await;
    }
    assert_eq!(
        api.fake
            .request_count("GET jobs/{id}/runs/{run}/tail/{path}"),
        2
    );

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
async fn a_job_in_a_project_the_account_does_not_have_is_refused() {
    let api = Api::new().await;
    let refused = json!({"projectId": ["Invalid pk \"pNope\" - object does not exist."]});

    let mut job = job_request("elsewhere", "echo");
    job["projectId"] = json!("pNope");
    let (status, body) = api.post("jobs/", job.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(body, refused);
    let (_, list) = api.get("jobs/").await;
    assert_eq!(list["count"], 0);

    job["projectId"] = json!(7);
    let (status, body) = api.post("jobs/", job.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"projectId": ["Invalid pk \"7\" - object does not exist."]})
    );

    // One of the account's projects (users/me/projects/) is accepted, and so is none.
    let (_, projects) = api.get("users/me/projects/").await;
    let mine = projects["results"][0]["id"].clone();
    job["projectId"] = mine.clone();
    let (status, created) = api.post("jobs/", job.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(created["projectId"], mine);
    job["projectId"] = Value::Null;
    let (status, _) = api.post("jobs/", job).await;
    assert_eq!(status, 201);

    // Moving a job to a project it cannot be in is refused too, and changes nothing.
    let id = created["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("jobs/{id}/"),
            Some(json!({"projectId": "pNope"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body, refused);
    let (_, job) = api.get(&format!("jobs/{id}/")).await;
    assert_eq!(job["projectId"], mine);
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
        // Every other job by creation order answers the object shape.
        if n % 2 == 1 {
            objects += 1;
            assert_eq!(core["code"], "standard-plus");
            assert_eq!(core["name"], "Marble");
        } else {
            assert_eq!(core, "standard-plus");
        }
    }
    assert_eq!(objects, 3, "both coreType shapes appear");

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

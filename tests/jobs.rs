//! Every job operation: the request the server saw and the value the caller got.

mod common;

use common::*;
use futures::TryStreamExt;
use rescale::JobId;
use rescale::jobs::{ClusterStatus, JobPatch, JobState, JobStatus};
use serde_json::json;
use wiremock::matchers::{body_json, header as header_is, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An id that is not URL-safe, and how it must arrive: one escaped path segment.
const ODD_ID: &str = "a/b c";
const ODD_ID_ENCODED: &str = "a%2Fb%20c";

/// The calls' futures can be spawned onto a multi-threaded runtime.
#[test]
fn job_calls_are_send() {
    fn assert_send<F: Send>(_: &F) {}
    let client = rescale::Client::builder().token("k").build().unwrap();
    let jobs = client.jobs();
    assert_send(&jobs.get("J1"));
    assert_send(&jobs.submit("J1"));
    assert_send(&jobs.stop("J1"));
    assert_send(&jobs.delete("J1"));
}

#[tokio::test]
async fn list_sends_page_size_and_filters_and_decodes_summaries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("jobs_list.json")))
        .expect(1)
        .mount(&server)
        .await;

    let page = client(&server)
        .jobs()
        .list()
        .page_size(25)
        .state(JobState::Completed)
        .job_status(JobStatus::WaitingForQueue)
        .page(1)
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_auth(&req);
    assert_eq!(
        query(&req),
        pairs(&[
            ("page_size", "25"),
            ("state", "completed"),
            ("job_status", "WAITING_FOR_QUEUE"),
            ("page", "1"),
        ])
    );
    assert_eq!(page.count, Some(3));
    assert_eq!(page.next, None);
    let ids: Vec<&str> = page.results.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["OsKBd", "XZFQV", "kikcT"]);
    assert_eq!(page.results[0].name, "the FOAM 2");
    assert_eq!(page.results[0].status(), Some(JobStatus::Completed));
    assert_eq!(
        page.results[0].cluster_status(),
        Some(ClusterStatus::Stopped)
    );
    assert_eq!(page.results[1].shared_with, ["someoneelse@example.com"]);
    // A job never submitted shows an empty status.
    assert_eq!(page.results[2].status(), None);
    assert_eq!(page.results[2].cluster_status(), None);
}

#[tokio::test]
async fn list_filter_not_completed_and_executing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/")))
        .and(query_param("state", "not_completed"))
        .and(query_param("job_status", "EXECUTING"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(0, None, json!([]))))
        .expect(1)
        .mount(&server)
        .await;

    let all: Vec<_> = client(&server)
        .jobs()
        .list()
        .state(JobState::NotCompleted)
        .job_status(JobStatus::Executing)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(all.is_empty());
    let req = only_request(&server).await;
    assert_eq!(
        query(&req),
        // A stream asks for the largest page known to be honoured.
        pairs(&[
            ("state", "not_completed"),
            ("job_status", "EXECUTING"),
            ("page_size", "1000")
        ])
    );
}

#[tokio::test]
async fn get_encodes_the_id_as_one_segment_and_decodes_the_job() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job.json")))
        .expect(1)
        .mount(&server)
        .await;

    let job = client(&server).jobs().get(ODD_ID).await.unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/"));
    assert_eq!(req.url.query(), None);
    assert!(req.body.is_empty());
    assert_auth(&req);
    assert_eq!(job.id, "aabbcc");
    assert_eq!(job.name, "Untitled Job");
    assert_eq!(job.expected_runs, Some(3));
    assert_eq!(job.is_low_priority, Some(true));
    assert_eq!(job.job_analyses[0].analysis.code, "openfoam");
    assert_eq!(
        job.job_analyses[0].hardware.core_type_code(),
        "standard-plus"
    );
    assert_eq!(job.job_variables.len(), 2);
    assert_eq!(job.param_file.as_ref().unwrap().id, "sWErpg");
}

#[tokio::test]
async fn ids_are_accepted_as_str_string_and_job_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_created.json")))
        .expect(3)
        .mount(&server)
        .await;

    let jobs = client(&server).jobs();
    let id = JobId::new("LeeKa");
    assert_eq!(jobs.get("LeeKa").await.unwrap().id, id);
    assert_eq!(jobs.get(String::from("LeeKa")).await.unwrap().id, id);
    assert_eq!(jobs.get(&id).await.unwrap().id, id);
}

#[tokio::test]
async fn a_jwt_looking_key_is_sent_as_bearer() {
    let server = MockServer::start().await;
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    Mock::given(method("GET"))
        .and(path(api_path("jobs/LeeKa/")))
        .and(header_is("authorization", format!("Bearer {jwt}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_created.json")))
        .expect(1)
        .mount(&server)
        .await;

    client_with_key(&server, jwt)
        .jobs()
        .get("LeeKa")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {jwt}").as_str())
    );
    assert_eq!(header(&req, "user-agent"), Some(USER_AGENT));
}

#[tokio::test]
async fn files_sends_search_and_decodes_file_objects() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/files/"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_files.json")))
        .expect(1)
        .mount(&server)
        .await;

    let files: Vec<_> = client(&server)
        .jobs()
        .files(ODD_ID)
        .search("fvSchemes")
        .page_size(50)
        .stream()
        .try_collect()
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/files/"));
    assert_auth(&req);
    assert_eq!(
        query(&req),
        pairs(&[("search", "fvSchemes"), ("page_size", "50")])
    );
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].id, "xTyjeg");
    assert_eq!(files[0].name, "fvSchemes");
    assert_eq!(
        files[0].relative_path.as_deref(),
        Some("airFoil2D/system/fvSchemes")
    );
    assert_eq!(files[0].decrypted_size, Some(1680));
    assert_eq!(files[0].file_type(), Some(rescale::files::FileType::Output));
}

#[tokio::test]
async fn create_posts_exactly_the_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path("jobs/")))
        .and(body_json(fixture("job_create_request.json")))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("job_created.json")))
        .expect(1)
        .mount(&server)
        .await;

    let job = client(&server).jobs().create(&example_job()).await.unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), api_path("jobs/"));
    assert_eq!(req.url.query(), None);
    assert_auth(&req);
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(
        req.body_json::<serde_json::Value>().unwrap(),
        fixture("job_create_request.json")
    );
    assert_eq!(job.id, "LeeKa");
    assert_eq!(job.name, "Jobbo");
    assert_eq!(job.job_analyses[0].command, "echo \"Hello world\"");
}

async fn submit_accepts(status: u16) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/submit/"))))
        .respond_with(ResponseTemplate::new(status))
        .expect(1)
        .mount(&server)
        .await;

    client(&server).jobs().submit(ODD_ID).await.unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/submit/"));
    assert!(req.body.is_empty());
    assert_auth(&req);
}

#[tokio::test]
async fn submit_accepts_200() {
    submit_accepts(200).await;
}

#[tokio::test]
async fn submit_accepts_201() {
    submit_accepts(201).await;
}

#[tokio::test]
async fn submit_accepts_202() {
    submit_accepts(202).await;
}

#[tokio::test]
async fn update_puts_the_whole_definition() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_created.json")))
        .expect(1)
        .mount(&server)
        .await;

    let edited = example_job().description("now with a description");
    let job = client(&server)
        .jobs()
        .update(ODD_ID, &edited)
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "PUT");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/"));
    assert_auth(&req);
    let mut want = fixture("job_create_request.json");
    want["description"] = json!("now with a description");
    assert_eq!(req.body_json::<serde_json::Value>().unwrap(), want);
    assert_eq!(job.id, "LeeKa");
}

#[tokio::test]
async fn patch_sends_only_the_fields_set() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_patched.json")))
        .expect(1)
        .mount(&server)
        .await;

    let patched = client(&server)
        .jobs()
        .patch(ODD_ID, &JobPatch::new().name("Jobster").low_priority(false))
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "PATCH");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/"));
    assert_auth(&req);
    assert_eq!(
        req.body_json::<serde_json::Value>().unwrap(),
        json!({"name": "Jobster", "isLowPriority": false})
    );
    assert_eq!(patched.id, Some(JobId::new("LeeKa")));
    assert_eq!(patched.name.as_deref(), Some("Jobster"));
    assert_eq!(patched.is_low_priority, Some(false));
}

#[tokio::test]
async fn delete_sends_delete_without_a_query() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/"))))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    client(&server).jobs().delete(ODD_ID).await.unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "DELETE");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/"));
    assert_eq!(req.url.query(), None);
    assert!(req.body.is_empty());
    assert_auth(&req);
}

#[tokio::test]
async fn delete_with_input_files_asks_for_them_to_go_too() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/"))))
        .and(query_param("deleteInputFiles", "True"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    client(&server)
        .jobs()
        .delete_with_input_files(ODD_ID)
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "DELETE");
    assert_eq!(query(&req), pairs(&[("deleteInputFiles", "True")]));
    assert_auth(&req);
}

#[tokio::test]
async fn stop_posts_to_stop_and_accepts_202() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/stop/"))))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;

    client(&server).jobs().stop(ODD_ID).await.unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/stop/"));
    assert!(req.body.is_empty());
    assert_auth(&req);
}

#[tokio::test]
async fn share_posts_email_and_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/share/"))))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("job_shared.json")))
        .expect(1)
        .mount(&server)
        .await;

    let shared = client(&server)
        .jobs()
        .share(ODD_ID, "support@rescale.com", "have a look")
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/share/"));
    assert_auth(&req);
    assert_eq!(
        req.body_json::<serde_json::Value>().unwrap(),
        json!({"email": "support@rescale.com", "message": "have a look"})
    );
    assert_eq!(shared.recipient.as_deref(), Some("support@rescale.com"));
    assert_eq!(shared.support_desk, None);
}

#[tokio::test]
async fn statuses_decodes_the_history_newest_first() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path(&format!("jobs/{ODD_ID_ENCODED}/statuses/"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("job_statuses.json")))
        .expect(1)
        .mount(&server)
        .await;

    let history: Vec<_> = client(&server)
        .jobs()
        .statuses(ODD_ID)
        .stream()
        .try_collect()
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/statuses/"));
    assert_eq!(req.url.query(), Some("page_size=1000"));
    assert_auth(&req);
    let statuses: Vec<JobStatus> = history.iter().map(|e| e.status.clone()).collect();
    assert_eq!(
        statuses,
        [
            JobStatus::Completed,
            JobStatus::Executing,
            JobStatus::Validated,
            JobStatus::Started,
            JobStatus::Queued,
            JobStatus::Pending,
        ]
    );
    assert_eq!(
        history[0].status_reason.as_deref(),
        Some("Completed successfully")
    );
    assert_eq!(
        history[0].status_date.unwrap().to_rfc3339(),
        "2016-04-21T17:24:34.898495+00:00"
    );
    assert_eq!(history[1].status_reason, None);
}

#[tokio::test]
async fn cluster_statuses_uses_the_underscore_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api_path(&format!(
            "jobs/{ODD_ID_ENCODED}/cluster_statuses/"
        ))))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("job_cluster_statuses.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let page = client(&server)
        .jobs()
        .cluster_statuses(ODD_ID)
        .page_size(10)
        .page(1)
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), api_path("jobs/a%2Fb%20c/cluster_statuses/"));
    assert_eq!(query(&req), pairs(&[("page_size", "10"), ("page", "1")]));
    assert_auth(&req);
    assert_eq!(page.count, Some(6));
    let statuses: Vec<ClusterStatus> = page.results.iter().map(|e| e.status.clone()).collect();
    assert_eq!(
        statuses,
        [
            ClusterStatus::Stopped,
            ClusterStatus::Stopping,
            ClusterStatus::StopRequested,
            ClusterStatus::Started,
            ClusterStatus::Starting,
            ClusterStatus::NotStarted,
        ]
    );
}

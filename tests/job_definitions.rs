//! Job definitions as they are sent: a job read and written back (PUT) loses no key and
//! can clear a field; a job made from another (`NewJob::from`); DOE variables, checked
//! before anything is sent.

mod common;

use common::*;
use rescale::Error;
use rescale::jobs::{
    Hardware, HardwareType, InputFile, Job, JobAnalysis, JobVariable, NewJob, TemplateTask,
    ValueGenerator, VariableType,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that answers `GET jobs/{id}/` with `stored` and a PUT with it too.
async fn server_with(id: &str, stored: &Value) -> MockServer {
    let server = MockServer::start().await;
    let at = api_path(&format!("jobs/{id}/"));
    Mock::given(method("GET"))
        .and(path(at.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored))
        .mount(&server)
        .await;
    server
}

/// The body of the one PUT the server saw.
async fn put_body(server: &MockServer) -> Value {
    let puts: Vec<_> = requests(server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one PUT");
    puts[0].body_json().unwrap()
}

/// Every key of `want` is in `got` with the same value (numbers compared as numbers, a
/// `coreType` object as its code), and `got` has no other key.
fn assert_same(want: &Value, got: &Value, at: &str) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let wk: Vec<_> = w.keys().collect();
            let gk: Vec<_> = g.keys().collect();
            assert_eq!(wk, gk, "keys at {at}");
            for (k, wv) in w {
                let wv = match (k.as_str(), wv) {
                    ("coreType", Value::Object(o)) => &o["code"],
                    _ => wv,
                };
                assert_same(wv, &g[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "length at {at}");
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_same(wv, gv, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(w), Value::Number(g)) => assert_eq!(w.as_f64(), g.as_f64(), "{at}"),
        (Value::String(w), Value::String(g)) if w != g => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            assert!(
                instant(w).is_some() && instant(w) == instant(g),
                "{at}: {w} vs {g}"
            );
        }
        _ => assert_eq!(want, got, "{at}"),
    }
}

#[tokio::test]
async fn a_job_read_and_put_back_unchanged_sends_every_key_it_came_with() {
    for name in ["job.json", "job_with_nulls.json"] {
        let stored = fixture(name);
        let id = stored["id"].as_str().unwrap().to_owned();
        let server = server_with(&id, &stored).await;
        let jobs = client(&server).jobs();
        let job = jobs.get(&id).await.unwrap();
        jobs.update(&id, &job).await.unwrap();
        assert_same(&stored, &put_body(&server).await, name);
    }
}

#[tokio::test]
async fn a_field_set_to_none_is_sent_as_null_so_the_service_clears_it() {
    let stored = fixture("job_with_nulls.json");
    let server = server_with("NuLLs", &stored).await;
    let jobs = client(&server).jobs();
    let mut job = jobs.get("NuLLs").await.unwrap();
    assert!(job.param_file.is_some());
    job.param_file = None;
    job.job_analyses[0].hardware.hardware_type = None;
    job.job_analyses[0].template_tasks[0].processed_filename = None;
    job.extra.remove("userTags");
    jobs.update("NuLLs", &job).await.unwrap();

    let sent = put_body(&server).await;
    assert_eq!(sent["paramFile"], Value::Null);
    assert_eq!(sent["jobanalyses"][0]["hardware"]["type"], Value::Null);
    assert_eq!(
        sent["jobanalyses"][0]["templateTasks"][0]["processedFilename"],
        Value::Null
    );
    assert!(sent.as_object().unwrap().contains_key("userTags"));
    let mut want = stored;
    want["paramFile"] = Value::Null;
    want["jobanalyses"][0]["hardware"]["type"] = Value::Null;
    want["jobanalyses"][0]["templateTasks"][0]["processedFilename"] = Value::Null;
    assert_same(&want, &sent, "cleared");
}

#[test]
fn a_job_built_from_scratch_sends_only_what_is_set() {
    let job = NewJob::new(
        "Sweep",
        vec![
            JobAnalysis::new("user_included", "./run.sh", Hardware::new("emerald", 1))
                .template_task(TemplateTask::new("tPl", "input.txt")),
        ],
    )
    .variable(
        JobVariable::new("x", VariableType::Param)
            .display_order(0)
            .generator(ValueGenerator::fixed_range(1.0, 3.0, 1.0)),
    );
    let with_files = job
        .clone()
        .param_file("pArAm")
        .case_file(InputFile::new("cAsE"));
    let sent = serde_json::to_value(&with_files).unwrap();
    assert_eq!(sent["paramFile"], json!({"id": "pArAm"}));
    assert_eq!(sent["caseFile"], json!({"id": "cAsE"}));
    assert_eq!(
        serde_json::to_value(&job).unwrap(),
        json!({
            "name": "Sweep",
            "jobanalyses": [{
                "analysis": {"code": "user_included"},
                "command": "./run.sh",
                "hardware": {"coreType": "emerald", "coresPerSlot": 1},
                "templateTasks": [{"templateFile": {"id": "tPl"}, "processedFilename": "input.txt"}]
            }],
            "jobvariables": [{
                "name": "x", "variableType": "Param", "displayOrder": 0,
                "valueGeneratorType": "FixedRange",
                "valueGeneratorSettings": {"minvalue": 1.0, "maxvalue": 3.0, "increment": 1.0}
            }]
        })
    );
}

#[test]
fn every_analysis_setting_has_a_builder() {
    let a = JobAnalysis::new(
        "openfoam",
        "./Allrun",
        Hardware::new("emerald", 2).hardware_type(HardwareType::Interactive),
    )
    .pre_process_script(InputFile::new("pre").decompress(false), "bash pre.sh")
    .post_process_script("post", "bash post.sh")
    .flag("-parallel", true)
    .use_rescale_license(false)
    .on_demand_license_seller(json!({"code": "rescale"}))
    .user_defined_license_settings(json!({"featureSets": []}));
    let sent = serde_json::to_value(&a).unwrap();
    assert_eq!(sent["hardware"]["type"], "interactive");
    assert_eq!(
        sent["preProcessScript"],
        json!({"id": "pre", "decompress": false})
    );
    assert_eq!(sent["preProcessScriptCommand"], "bash pre.sh");
    assert_eq!(sent["postProcessScript"], json!({"id": "post"}));
    assert_eq!(sent["postProcessScriptCommand"], "bash post.sh");
    assert_eq!(sent["flags"], json!({"-parallel": true}));
    assert_eq!(sent["useRescaleLicense"], false);
    assert_eq!(sent["onDemandLicenseSeller"], json!({"code": "rescale"}));
    assert_eq!(
        sent["userDefinedLicenseSettings"],
        json!({"featureSets": []})
    );

    let kinds: Vec<HardwareType> =
        serde_json::from_value(json!(["compute", "interactive", "gpu-desktop"])).unwrap();
    assert_eq!(
        kinds,
        [
            HardwareType::Compute,
            HardwareType::Interactive,
            HardwareType::Other("gpu-desktop".into())
        ]
    );
}

#[tokio::test]
async fn a_job_made_from_another_carries_its_definition_and_not_what_the_service_owns() {
    let mut stored = fixture("job.json");
    stored["dateInserted"] = json!("2016-04-21T17:24:34.898495Z");
    stored["userTags"] = json!(["nightly"]);
    stored["jobStatus"] = json!({"content": "Completed"});
    stored["cidrRule"] = json!("10.0.0.0/8");
    let job: Job = serde_json::from_value(stored).unwrap();

    let again = NewJob::from(&job).core_type("emerald");
    assert_eq!(again, job.to_new_job().core_type("emerald"));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path("jobs/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("job_created.json")))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).jobs().create(&again).await.unwrap();
    let sent: Value = requests(&server).await[0].body_json().unwrap();

    let keys: Vec<&str> = sent
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for owned in ["id", "owner", "dateInserted", "userTags", "jobStatus"] {
        assert!(!keys.contains(&owned), "{owned} was sent: {keys:?}");
    }
    assert_eq!(
        sent["cidrRule"], "10.0.0.0/8",
        "unknown definition fields are kept"
    );
    assert_eq!(sent["name"], "Untitled Job");
    assert_eq!(sent["isLowPriority"], true);
    assert_eq!(sent["expectedRuns"], 3);
    assert_eq!(sent["paramFile"], json!({"id": "sWErpg"}));
    assert!(!keys.contains(&"caseFile"), "nulls are not sent: {keys:?}");
    assert_eq!(sent["jobvariables"], fixture("job.json")["jobvariables"]);
    let a = &sent["jobanalyses"][0];
    assert_eq!(a["hardware"]["coreType"], "emerald");
    assert_eq!(a["hardware"]["coresPerSlot"], 1);
    assert!(a["hardware"].get("coreSummary").is_none());
    assert_eq!(
        a["analysis"],
        json!({"code": "openfoam", "version": "2.3.1-openmpi"})
    );
    assert_eq!(a["inputFiles"], json!([{"id": "duMEdg"}]));
    assert_eq!(
        a["templateTasks"],
        json!([{"templateFile": {"id": "qEMEdg"}, "processedFilename": "airFoil2D_DOE/0/U"}])
    );
    assert_eq!(a["command"], "./airFoil2D_DOE/Allrun");
}

#[tokio::test]
async fn an_invalid_variable_is_refused_before_anything_is_sent_naming_the_field() {
    let server = MockServer::start().await;
    let jobs = client(&server).jobs();
    let fixed = |min, max, inc| {
        JobVariable::new("v", VariableType::Param)
            .display_order(0)
            .generator(ValueGenerator::fixed_range(min, max, inc))
    };
    let mut unordered = fixed(1.0, 2.0, 1.0);
    unordered.display_order = None;
    let mut no_settings = fixed(1.0, 2.0, 1.0);
    no_settings.value_generator_settings = None;
    let cases = [
        (
            fixed(5.0, 1.0, 1.0),
            "job_variables[1].value_generator_settings",
        ),
        (
            fixed(1.0, 5.0, 0.0),
            "job_variables[1].value_generator_settings",
        ),
        (
            fixed(1.0, 5.0, -1.0),
            "job_variables[1].value_generator_settings",
        ),
        (unordered, "job_variables[1].display_order"),
        (no_settings, "job_variables[1].value_generator_settings"),
        (
            JobVariable::new("v", VariableType::Param).display_order(1),
            "job_variables[1].value_generator_type",
        ),
    ];
    for (bad, want) in cases {
        let job = example_job().variable(fixed(1.0, 2.0, 1.0)).variable(bad);
        match jobs.create(&job).await {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_sweep_on_the_fake_makes_one_run_per_combination_of_values() {
    use futures::TryStreamExt;
    use rescale_fake::{FakeConfig, FakeRescale};
    use std::time::Duration;

    let fake = FakeRescale::start_with(FakeConfig {
        step: Duration::from_millis(5),
        ..FakeConfig::default()
    })
    .await;
    let client = rescale::Client::builder()
        .base_url(fake.base_url())
        .token(fake.api_key())
        .build()
        .unwrap();
    let template = fake.add_file("u.template", b"u ${x} ${y}".to_vec());
    let variable = |name: &str, order, generator| {
        JobVariable::new(name, VariableType::Param)
            .display_order(order)
            .generator(generator)
    };
    let new = NewJob::new(
        "sweep",
        vec![
            JobAnalysis::new("user_included", "cat u", Hardware::new("emerald", 1))
                .version("0")
                .template_task(TemplateTask::new(template.as_str(), "u")),
        ],
    )
    .variable(variable("x", 0, ValueGenerator::fixed_range(1.0, 2.0, 1.0)))
    .variable(variable("y", 1, ValueGenerator::fixed_range(0.5, 1.5, 0.5)))
    .variable(variable("label", 2, ValueGenerator::None));
    let jobs = client.jobs();
    let job = jobs.create(&new).await.unwrap();
    assert_eq!(job.job_variables.len(), 3);
    assert_eq!(
        job.job_variables[1].value_generator().unwrap(),
        ValueGenerator::fixed_range(0.5, 1.5, 0.5)
    );
    jobs.submit(&job.id).await.unwrap();
    jobs.wait_for_completion(&job.id)
        .poll_interval(Duration::from_millis(5))
        .await
        .unwrap();

    let runs: Vec<_> = jobs.runs(&job.id).stream().try_collect().await.unwrap();
    let values: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| {
            let number = |n: &str| r.variable(n).and_then(|v| v.number()).unwrap();
            (number("x"), number("y"))
        })
        .collect();
    assert_eq!(
        values,
        [
            (1.0, 0.5),
            (1.0, 1.0),
            (1.0, 1.5),
            (2.0, 0.5),
            (2.0, 1.0),
            (2.0, 1.5)
        ]
    );
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
    let last = jobs.run(&job.id, "6").await.unwrap();
    assert_eq!(last.variable("y").and_then(|v| v.number()), Some(1.5));
    assert!(jobs.run(&job.id, "7").await.unwrap_err().is_not_found());
}

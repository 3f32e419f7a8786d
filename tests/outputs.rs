//! Every output of a job into a directory: pages, relative paths, re-runs, unsafe paths.

mod common;

use std::sync::{Arc, Mutex};

use common::{client_at, file_object, tree};
use rescale::Error;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Mounts `jobs/{job}/files/` as two pages and each file's contents, expecting
/// `downloads[i]` requests for file `i`.
async fn mount_outputs(
    server: &MockServer,
    job: &str,
    files: &[(&str, &str, Vec<u8>)],
    downloads: &[u64],
) {
    let objects: Vec<Value> = files
        .iter()
        .map(|(id, rel, bytes)| file_object(id, rel, bytes))
        .collect();
    let split = objects.len().div_ceil(2);
    let next = format!(
        "{}/api/v2/jobs/{job}/files/?page=2&page_size=1000",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/jobs/{job}/files/")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": objects.len(), "next": null, "previous": null, "results": objects[split..],
        })))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/jobs/{job}/files/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": objects.len(), "next": next, "previous": null, "results": objects[..split],
        })))
        .mount(server)
        .await;
    for ((id, _, bytes), times) in files.iter().zip(downloads) {
        Mock::given(method("GET"))
            .and(path(format!("/api/v2/files/{id}/contents/")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            .expect(*times)
            .named(format!("contents of {id}"))
            .mount(server)
            .await;
    }
}

fn outputs() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("o1", "airFoil2D/system/fvSchemes", b"schemes".repeat(100)),
        ("o2", "airFoil2D/log.simpleFoam", b"log line\n".repeat(300)),
        ("o3", "process_output.log", b"done\n".to_vec()),
    ]
}

#[tokio::test]
async fn every_output_lands_at_its_relative_path() {
    let server = MockServer::start().await;
    let files = outputs();
    mount_outputs(&server, "OsKBd", &files, &[1, 1, 1]).await;
    let dir = tempfile::tempdir().unwrap();
    let total = Arc::new(Mutex::new(0u64));
    let sum = total.clone();

    let report = client_at(&server.uri())
        .files()
        .download_outputs("OsKBd", dir.path())
        .concurrency(2)
        .on_progress(move |e| *sum.lock().unwrap() += e.delta)
        .await
        .unwrap();

    for (_, rel, bytes) in &files {
        assert_eq!(
            &std::fs::read(dir.path().join(rel)).unwrap(),
            bytes,
            "{rel}"
        );
    }
    assert_eq!(report.downloaded.len(), 3);
    assert!(report.skipped.is_empty());
    let bytes: u64 = files.iter().map(|f| f.2.len() as u64).sum();
    assert_eq!(report.bytes, bytes);
    assert_eq!(*total.lock().unwrap(), bytes);
    assert_eq!(
        tree(dir.path()),
        [
            "airFoil2D",
            "airFoil2D/log.simpleFoam",
            "airFoil2D/system",
            "airFoil2D/system/fvSchemes",
            "process_output.log"
        ]
    );
}

#[tokio::test]
async fn a_rerun_downloads_only_what_is_missing_or_wrong() {
    let server = MockServer::start().await;
    let files = outputs();
    // o1 present and right: skipped. o2 present, same size, wrong bytes: fetched. o3 missing.
    mount_outputs(&server, "OsKBd", &files, &[0, 1, 1]).await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join(files[0].1);
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    std::fs::write(&first, &files[0].2).unwrap();
    let second = dir.path().join(files[1].1);
    std::fs::write(&second, vec![b'x'; files[1].2.len()]).unwrap();

    let report = client_at(&server.uri())
        .files()
        .download_outputs("OsKBd", dir.path())
        .await
        .unwrap();

    assert_eq!(report.skipped, [first]);
    assert_eq!(report.downloaded.len(), 2);
    for (_, rel, bytes) in &files {
        assert_eq!(
            &std::fs::read(dir.path().join(rel)).unwrap(),
            bytes,
            "{rel}"
        );
    }
    // `.expect` on each contents mock is verified when the server drops.
}

async fn assert_unsafe_path_writes_nothing(bad: &str) {
    let server = MockServer::start().await;
    let files = vec![
        ("ok", "fine.txt", b"fine".to_vec()),
        ("evil", bad, b"root:x:0:0\n".to_vec()),
    ];
    mount_outputs(&server, "J", &files, &[0, 0]).await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");

    let err = client_at(&server.uri())
        .files()
        .download_outputs("J", &dir)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnsafePath { path, .. } if path == bad),
        "{bad}: {err}"
    );
    assert!(err.to_string().contains(bad));
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
}

#[tokio::test]
async fn a_relative_path_climbing_out_writes_nothing() {
    assert_unsafe_path_writes_nothing("../../etc/passwd").await;
}

#[tokio::test]
async fn an_absolute_relative_path_writes_nothing() {
    assert_unsafe_path_writes_nothing("/etc/passwd").await;
}

#[tokio::test]
async fn a_windows_drive_path_writes_nothing() {
    assert_unsafe_path_writes_nothing("C:\\Windows\\win.ini").await;
}

#[tokio::test]
async fn zero_concurrency_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let err = client_at(&server.uri())
        .files()
        .download_outputs("J", "unused")
        .concurrency(0)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "concurrency"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_link_inside_the_directory_is_not_followed_outside() {
    let server = MockServer::start().await;
    let files = vec![("l", "escape/passwd", b"root:x:0:0\n".to_vec())];
    mount_outputs(&server, "J", &files, &[0]).await;
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    let dir = root.path().join("out");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("escape")).unwrap();

    let err = client_at(&server.uri())
        .files()
        .download_outputs("J", &dir)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnsafePath { path, .. } if path == "escape/passwd"),
        "{err}"
    );
    assert!(tree(&outside).is_empty());
}

#[tokio::test]
async fn outputs_of_several_runs_on_one_path_are_refused_naming_both() {
    // A `relativePath` is the path within a run: a DOE's runs each hold the same names.
    let server = MockServer::start().await;
    let files = vec![
        ("run1U", "airFoil2D/0/U", b"run 1".to_vec()),
        ("other", "process_output.log", b"done\n".to_vec()),
        ("run2U", "./airFoil2D//0/U", b"run 2".to_vec()),
    ];
    mount_outputs(&server, "J", &files, &[0, 0, 0]).await;
    let root = tempfile::tempdir().unwrap();

    let err = client_at(&server.uri())
        .files()
        .download_outputs("J", root.path().join("out"))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnsafePath { path, .. } if path == "./airFoil2D//0/U"),
        "{err}"
    );
    let text = err.to_string();
    for said in ["`run1U`", "`run2U`", "DownloadOutputs::run"] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
}

#[tokio::test]
async fn a_file_and_a_file_beneath_it_are_refused_before_anything_is_written() {
    let server = MockServer::start().await;
    let files = vec![
        ("under", "results/U", b"under".to_vec()),
        ("file", "results", b"file".to_vec()),
    ];
    mount_outputs(&server, "J", &files, &[0, 0]).await;
    let root = tempfile::tempdir().unwrap();

    let err = client_at(&server.uri())
        .files()
        .download_outputs("J", root.path().join("out"))
        .concurrency(1)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnsafePath { path, .. } if path == "results/U"),
        "{err}"
    );
    assert!(
        err.to_string().contains("beneath output file `file`"),
        "{err}"
    );
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
}

#[tokio::test]
async fn one_run_is_read_from_its_own_list() {
    let server = MockServer::start().await;
    let files = outputs();
    mount_outputs(&server, "J/runs/2", &files, &[1, 1, 1]).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/jobs/J/files/"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();

    let report = client_at(&server.uri())
        .files()
        .download_outputs("J", dir.path())
        .run("2")
        .await
        .unwrap();

    assert_eq!(report.downloaded.len(), files.len());
    for (_, rel, bytes) in &files {
        assert_eq!(
            &std::fs::read(dir.path().join(rel)).unwrap(),
            bytes,
            "{rel}"
        );
    }
}

#[tokio::test]
async fn the_service_s_paths_in_errors_lose_the_key_and_are_cut() {
    let key = common::KEY;
    let long = format!("/{key}/{}", "x".repeat(100_000));
    // A path the file system refuses (a name past 255 bytes) under a directory named
    // after the key: the I/O error names the local path.
    let too_long_name = format!("{key}/{}", "y".repeat(300));
    for (bad, what) in [(long.as_str(), "refused"), (too_long_name.as_str(), "io")] {
        let server = MockServer::start().await;
        mount_outputs(&server, "J", &[("f", bad, b"x".to_vec())], &[0]).await;
        let dir = tempfile::tempdir().unwrap();

        let err = client_at(&server.uri())
            .files()
            .download_outputs("J", dir.path())
            .await
            .unwrap_err();

        match (&err, what) {
            (Error::UnsafePath { .. }, "refused") | (Error::Io { .. }, "io") => {}
            _ => panic!("{what}: {err:?}"),
        }
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(key), "{what}: the key is shown");
        assert!(shown.contains("[redacted]"), "{what}: {shown}");
        assert!(shown.len() < 4_000, "{what}: {} characters", shown.len());
    }
}

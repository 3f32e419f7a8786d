//! Helpers shared by the integration tests of files, outputs, runs, catalogues and waiting.
// Each test file uses a different subset of these.
#![allow(dead_code)]

use std::path::Path;

use rescale::Client;
use rescale::files::JobFile;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// A client of the mock server at `base` (its URI, without the API prefix).
pub fn client(base: &str) -> Client {
    Client::builder()
        .token("test-key")
        .base_url(format!("{base}/api/v2/"))
        .build()
        .unwrap()
}

/// A client whose transport does not retry, for tests of the layers above it (waiting).
pub fn client_without_retries(base: &str) -> Client {
    Client::builder()
        .token("test-key")
        .base_url(format!("{base}/api/v2/"))
        .retry(rescale::RetryPolicy::none())
        .build()
        .unwrap()
}

/// A JSON fixture from tests/fixtures.
pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("tests/fixtures/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(Sha512::digest(bytes))
}

/// A file object for `bytes`, with the SHA-512 the service would give. Its `downloadUrl`
/// points to another host, which must never be used.
pub fn file_object(id: &str, relative_path: &str, bytes: &[u8]) -> Value {
    let mut file = fixture("job_files.json")["results"][0].clone();
    file["id"] = json!(id);
    file["name"] = json!(relative_path.rsplit('/').next().unwrap());
    file["relativePath"] = json!(relative_path);
    file["decryptedSize"] = json!(bytes.len());
    file["md5"] = json!("00000000000000000000000000000000");
    file["fileChecksums"] = json!([{"hashFunction": "sha512", "fileHash": sha512_hex(bytes)}]);
    file["downloadUrl"] = json!(format!("https://elsewhere.example/files/{id}/contents/"));
    file
}

pub fn job_file(value: &Value) -> JobFile {
    serde_json::from_value(value.clone()).unwrap()
}

/// Every path under `root`, relative to it, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(&path, root, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

pub fn header<'a>(req: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

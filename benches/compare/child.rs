//! Peak memory, each workload in a child process of its own: this binary run again with
//! `RESCALE_BENCH_CHILD` naming the workload, reporting its `VmHWM`.

use std::net::SocketAddr;
use std::process::Command;

use crate::report::{Row, Stats, Target};

/// Names the workload a child runs: `list:<jobs>`, `download:rescale`, `download:reqwest`.
pub const ROLE_ENV: &str = "RESCALE_BENCH_CHILD";
const URL_ENV: &str = "RESCALE_BENCH_URL";

/// Runs in the child: does the workload, then prints its peak resident memory in KiB, or
/// `pending` when the workload cannot run yet.
pub fn run(role: &str) {
    let base = std::env::var(URL_ENV).expect("RESCALE_BENCH_URL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let done = runtime.block_on(async {
        let client = crate::client(&base);
        match role.split_once(':') {
            Some(("list", n)) => {
                let n: usize = n.parse().expect("list size");
                assert_eq!(crate::list_with_crate(&client, 1, None).await, n);
                true
            }
            Some(("download", who)) => {
                let id = crate::DOWNLOAD_BYTES.to_string();
                let to = crate::scratch(&format!("child-{who}.bin"));
                let written = if who == "rescale" {
                    crate::download_with_crate(&client, &id, &to).await
                } else {
                    let url = format!("{base}files/{id}/contents/");
                    Some(crate::download_with_reqwest(&crate::reqwest_client(), &url, &to).await)
                };
                std::fs::remove_file(&to).ok();
                written
                    .inspect(|&n| assert_eq!(n, crate::DOWNLOAD_BYTES))
                    .is_some()
            }
            _ => panic!("unknown role {role}"),
        }
    });
    match (done, peak_kib()) {
        (false, _) => println!("pending"),
        (true, Some(kib)) => println!("vmhwm_kib {kib}"),
        (true, None) => println!("unmeasured"),
    }
}

/// `VmHWM` of this process, from `/proc/self/status` (Linux only).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs a child and returns its peak in MiB; `None` when it is pending or unmeasured.
fn measure(role: &str, base: &str) -> Option<f64> {
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .env(ROLE_ENV, role)
        .env(URL_ENV, base)
        .output()
        .expect("child process");
    assert!(
        output.status.success(),
        "child {role} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let kib: f64 = stdout.trim().strip_prefix("vmhwm_kib ")?.parse().ok()?;
    Some(kib / 1024.0)
}

fn runs(role: &str, base: &str, times: usize) -> Option<Stats> {
    let peaks: Option<Vec<f64>> = (0..times).map(|_| measure(role, base)).collect();
    peaks.map(|p| Stats::new("MiB", p))
}

/// Peak memory of listing `small` against `large` job summaries, and of the download.
pub fn memory_rows(addr: SocketAddr, small: usize, large: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let (base_small, base_large) = (
        crate::base_url(addr, small, 0),
        crate::base_url(addr, large, 0),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        a.extend(measure(&format!("list:{large}"), &base_large));
        b.extend(measure(&format!("list:{small}"), &base_small));
    }
    let figure = format!("peak RSS, listing {large} vs {small} job summaries (child processes)");
    let names = (format!("{large} jobs"), format!("{small} jobs"));
    rows.push(if a.is_empty() || b.is_empty() {
        Row::pending(
            figure,
            "VmHWM unreadable on this OS",
            (names.1.as_str(), Stats::new("MiB", b)),
            Target::WithinMib(16.0),
        )
    } else {
        Row::rated(
            figure,
            (names.0.as_str(), Stats::new("MiB", a)),
            (names.1.as_str(), Stats::new("MiB", b)),
            Target::WithinMib(16.0),
        )
    });

    let base = crate::base_url(addr, 0, 0);
    let figure = "peak RSS, 1 GiB download (child processes)".to_owned();
    let reqwest = runs("download:reqwest", &base, 1).unwrap_or_else(|| Stats::new("MiB", vec![]));
    rows.push(match runs("download:rescale", &base, 1) {
        Some(a) => Row::rated(
            figure,
            ("rescale", a),
            ("reqwest bytes_stream", reqwest),
            Target::UnderMib(64.0),
        ),
        None => Row::pending(
            figure,
            "rescale",
            ("reqwest bytes_stream", reqwest),
            Target::UnderMib(64.0),
        ),
    });
    rows
}

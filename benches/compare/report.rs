//! The table of figures: printed, and written as JSON to `target/bench-compare.json`.

use std::path::PathBuf;

use serde::Serialize;

/// What a row's comparison must meet.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Target {
    /// `a / b` at most this.
    AtMost(f64),
    /// `a / b` at least this.
    AtLeast(f64),
    /// `|a - b|` at most this many MiB.
    WithinMib(f64),
    /// `a` under this many MiB.
    UnderMib(f64),
    /// Reported, not judged.
    None,
}

impl Target {
    fn describe(self) -> String {
        match self {
            Target::AtMost(r) => format!("<= {r}"),
            Target::AtLeast(r) => format!(">= {r}"),
            Target::WithinMib(m) => format!("within {m} MiB"),
            Target::UnderMib(m) => format!("A < {m} MiB"),
            Target::None => "-".into(),
        }
    }
}

/// Median, min and max of the samples of one contender.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub unit: &'static str,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

impl Stats {
    /// Figures of `samples`, kept in the order they were taken.
    pub fn new(unit: &'static str, samples: Vec<f64>) -> Self {
        Stats {
            unit,
            median: median(&samples),
            min: samples.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
            max: samples.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            samples,
        }
    }
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// One contender of a row; `stats` is `None` while it cannot run yet.
#[derive(Debug, Clone, Serialize)]
pub struct Contender {
    pub name: String,
    pub stats: Option<Stats>,
}

/// One figure: contender A against contender B.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub figure: String,
    pub a: Contender,
    pub b: Contender,
    /// The median of `a[i] / b[i]` over samples taken back to back (of the medians when
    /// the counts differ); for memory rows, `a - b` of the medians in MiB.
    pub comparison: Option<f64>,
    pub target: Target,
    pub met: Option<bool>,
}

impl Row {
    fn new(figure: String, a: Contender, b: Contender, target: Target) -> Self {
        let both = a.stats.as_ref().zip(b.stats.as_ref());
        let comparison = both.map(|(a, b)| match target {
            Target::WithinMib(_) | Target::UnderMib(_) => a.median - b.median,
            // Pairs taken back to back share the machine's load of the moment.
            _ if a.samples.len() == b.samples.len() => {
                let ratios: Vec<f64> = a
                    .samples
                    .iter()
                    .zip(&b.samples)
                    .map(|(a, b)| a / b)
                    .collect();
                median(&ratios)
            }
            _ => a.median / b.median,
        });
        let met = match target {
            Target::AtMost(r) => comparison.map(|c| c <= r),
            Target::AtLeast(r) => comparison.map(|c| c >= r),
            Target::WithinMib(m) => comparison.map(|c| c.abs() <= m),
            Target::UnderMib(m) => a.stats.as_ref().map(|s| s.median < m),
            Target::None => None,
        };
        Row {
            figure,
            a,
            b,
            comparison,
            target,
            met,
        }
    }

    /// Two contenders timed in milliseconds.
    pub fn timed(figure: String, a: (&str, Vec<f64>), b: (&str, Vec<f64>), target: Target) -> Self {
        Self::rated(
            figure,
            (a.0, Stats::new("ms", a.1)),
            (b.0, Stats::new("ms", b.1)),
            target,
        )
    }

    /// Two contenders with figures already made.
    pub fn rated(figure: String, a: (&str, Stats), b: (&str, Stats), target: Target) -> Self {
        let contender = |(name, stats): (&str, Stats)| Contender {
            name: name.into(),
            stats: Some(stats),
        };
        Self::new(figure, contender(a), contender(b), target)
    }

    /// A row whose contender A cannot run yet.
    pub fn pending(figure: String, a: &str, b: (&str, Stats), target: Target) -> Self {
        Self::new(
            figure,
            Contender {
                name: format!("{a} (pending)"),
                stats: None,
            },
            Contender {
                name: b.0.into(),
                stats: Some(b.1),
            },
            target,
        )
    }
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub os: String,
}

impl Machine {
    fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        };
        let mem_kib: f64 = field(&meminfo, "MemTotal")
            .and_then(|v| v.trim_end_matches(" kB").parse().ok())
            .unwrap_or(f64::NAN);
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            memory_gib: mem_kib / (1024.0 * 1024.0),
            os: std::env::consts::OS.into(),
        }
    }
}

/// One figure of the section at 20 ms: an operation's time against its round-trip bound.
#[derive(Debug, Clone, Serialize)]
pub struct WireRow {
    pub figure: String,
    pub time: Stats,
    pub requests: usize,
    /// The connections the fake accepted.
    pub connections: usize,
    /// The fewest sequential round trips the work needs, in ms.
    pub bound_ms: f64,
    /// The median time over the bound.
    pub ratio: f64,
    /// The ratio must be at most this.
    pub target: Option<f64>,
    /// The requests must be at most this many; and what the budget is.
    pub request_budget: Option<(f64, String)>,
    pub met: Option<bool>,
}

impl WireRow {
    pub fn new(
        figure: String,
        time: Stats,
        (requests, connections): (usize, usize),
        bound_ms: f64,
        target: Option<f64>,
    ) -> Self {
        let ratio = time.median / bound_ms;
        WireRow {
            figure,
            time,
            requests,
            connections,
            bound_ms,
            ratio,
            target,
            request_budget: None,
            met: target.map(|t| ratio <= t),
        }
    }

    /// Judges the row by its request count instead of its time.
    pub fn request_budget(&mut self, at_most: f64, what: &str) {
        self.request_budget = Some((at_most, what.to_owned()));
        self.met = Some(self.requests as f64 <= at_most);
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub samples_per_contender: usize,
    pub rows: Vec<Row>,
    /// The section at 20 ms.
    pub wire: Vec<WireRow>,
}

/// `target/` of this workspace, or `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn number(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

impl Report {
    pub fn new(samples: usize) -> Self {
        Report {
            machine: Machine::detect(),
            samples_per_contender: samples,
            rows: Vec::new(),
            wire: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Row) {
        eprintln!("done: {}", row.figure);
        self.rows.push(row);
    }

    pub fn extend(&mut self, rows: Vec<Row>) {
        rows.into_iter().for_each(|r| self.push(r));
    }

    /// The table, as Markdown so that it can go into docs as printed.
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "Machine: {} CPUs, {}, {:.1} GiB memory, {}. {} samples per contender, alternated \
             with each pair's first taking turns (the get figure's within each sample, in blocks); \
             A vs B is the median of A/B over samples taken back to back.\n\n",
            m.cpus, m.cpu_model, m.memory_gib, m.os, self.samples_per_contender
        );
        out.push_str("| figure | contender | median | min | max | A vs B | target | met |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---|---|\n");
        for row in &self.rows {
            let comparison = match (row.comparison, row.target) {
                (None, _) => "-".into(),
                (Some(c), Target::WithinMib(_) | Target::UnderMib(_)) => format!("{c:+.1} MiB"),
                (Some(c), _) => format!("{c:.3}"),
            };
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            for (i, c) in [&row.a, &row.b].into_iter().enumerate() {
                let (median, min, max) = match &c.stats {
                    Some(s) => (
                        format!("{} {}", number(s.median), s.unit),
                        number(s.min),
                        number(s.max),
                    ),
                    None => ("-".into(), "-".into(), "-".into()),
                };
                let (figure, cmp, target, met) = if i == 0 {
                    (
                        row.figure.as_str(),
                        comparison.as_str(),
                        row.target.describe(),
                        met,
                    )
                } else {
                    ("", "", String::new(), "")
                };
                let tag = if i == 0 { "A" } else { "B" };
                out.push_str(&format!(
                    "| {figure} | {tag}: {} | {median} | {min} | {max} | {cmp} | {target} | {met} |\n",
                    c.name
                ));
            }
        }
        out
    }

    /// The section at 20 ms, as Markdown.
    pub fn wire_table(&self) -> String {
        let mut out = format!(
            "At {} ms a response and {} ms a new connection (`rescale-fake` over HTTPS):\n\n",
            crate::wire::LATENCY.as_millis(),
            crate::wire::CONNECT_LATENCY.as_millis()
        );
        out.push_str("| operation | median | min | max | requests | connections | round-trip bound | time / bound | target | met |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
        for row in &self.wire {
            let target = match (&row.request_budget, row.target) {
                (Some((n, what)), _) => format!("requests <= {} ({what})", number(*n)),
                (None, Some(t)) => format!("<= {t}x"),
                (None, None) => "-".into(),
            };
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            out.push_str(&format!(
                "| {} | {} ms | {} | {} | {} | {} | {} ms | {} | {target} | {met} |\n",
                row.figure,
                number(row.time.median),
                number(row.time.min),
                number(row.time.max),
                row.requests,
                row.connections,
                number(row.bound_ms),
                number(row.ratio),
            ));
        }
        out
    }

    pub fn print(&self) {
        println!("\n{}", self.table());
        if !self.wire.is_empty() {
            println!("{}", self.wire_table());
        }
    }

    pub fn write_json(&self) {
        let path = target_dir().join("bench-compare.json");
        match serde_json::to_vec_pretty(self) {
            Ok(json) => match std::fs::write(&path, json) {
                Ok(()) => println!("figures written to {}", path.display()),
                Err(e) => eprintln!("could not write {}: {e}", path.display()),
            },
            Err(e) => eprintln!("could not encode the figures: {e}"),
        }
    }
}

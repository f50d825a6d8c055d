//! `cargo xtask bench-report`: the table of the last `cargo bench -p quickrouter-benches` run, from
//! criterion's own files (`target/criterion/*/*/new/`): median time, MiB/s, events/s, and the
//! ratios against the peers measured in the same run; then issue 13's goals, each a ratio from that
//! run with its target and whether it is met; then the CLI's start-up time and size.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// The peer each group's ratios are taken against (first is the main one).
fn baselines(group: &str) -> &'static [&'static str] {
    if group.starts_with("framing/") {
        &["sse-stream", "eventsource-stream", "memchr-floor"]
    } else if group.starts_with("decode/") {
        &[
            "decode-alone",
            "serde_json-mirror",
            "eventsource-stream+async-openai",
        ]
    } else if group.starts_with("client/") {
        &["raw-reqwest-bytes", "async-openai"]
    } else {
        &[]
    }
}

struct Row {
    name: String,
    /// When criterion wrote the estimate (rows of contenders since renamed or removed are old).
    written: std::time::SystemTime,
    median_ns: f64,
    bytes: Option<f64>,
    elements: Option<f64>,
}

pub fn run(root: &Path) -> Result<()> {
    let dir = root.join("target/criterion");
    let corpora: BTreeMap<String, Value> =
        std::fs::read_to_string(dir.join("quickrouter-corpora.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
    let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for group in std::fs::read_dir(&dir)
        .with_context(|| format!("no {}: run the benches first", dir.display()))?
    {
        let group = group?.path();
        let Ok(benches) = std::fs::read_dir(&group) else {
            continue;
        };
        for bench in benches {
            let new = bench?.path().join("new");
            let (Ok(meta), Ok(estimates)) = (
                std::fs::read_to_string(new.join("benchmark.json")),
                std::fs::read_to_string(new.join("estimates.json")),
            ) else {
                continue;
            };
            let meta: Value = serde_json::from_str(&meta)?;
            let estimates: Value = serde_json::from_str(&estimates)?;
            let group_id = meta["group_id"].as_str().unwrap_or_default().to_owned();
            let name = meta["value_str"]
                .as_str()
                .or(meta["function_id"].as_str())
                .unwrap_or_default()
                .to_owned();
            let written = std::fs::metadata(new.join("estimates.json"))?.modified()?;
            groups.entry(group_id).or_default().push(Row {
                name,
                written,
                median_ns: estimates["median"]["point_estimate"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                bytes: meta["throughput"]["Bytes"].as_f64(),
                elements: meta["throughput"]["Elements"].as_f64(),
            });
        }
    }
    let mut out = String::new();
    for rows in groups.values_mut() {
        // A group runs in a minute or two: a row 15 minutes older than the group's newest
        // is left over from a contender since renamed or removed.
        if let Some(newest) = rows.iter().map(|r| r.written).max() {
            let stale = newest - std::time::Duration::from_secs(900);
            rows.retain(|r| r.written >= stale);
        }
        rows.sort_by(|a, b| a.median_ns.total_cmp(&b.median_ns));
    }
    for (group, rows) in &groups {
        let events = corpora
            .get(group)
            .and_then(|c| c["events"].as_f64())
            .or(rows.first().and_then(|r| r.elements));
        let peers: Vec<&str> = baselines(group)
            .iter()
            .copied()
            .filter(|p| rows.iter().any(|r| r.name == *p))
            .collect();
        writeln!(out, "\n### {group}\n")?;
        let mut header = "| | median | MiB/s | events/s |".to_owned();
        let mut rule = "|---|---:|---:|---:|".to_owned();
        for peer in &peers {
            write!(header, " vs {peer} |")?;
            rule.push_str("---:|");
        }
        writeln!(out, "{header}\n{rule}")?;
        for row in rows {
            let secs = row.median_ns / 1e9;
            let mib = row.bytes.map_or("".to_owned(), |b| {
                format!("{:.0}", b / secs / (1 << 20) as f64)
            });
            let eps = events.map_or("".to_owned(), |e| format!("{:.2}M", e / secs / 1e6));
            write!(
                out,
                "| {} | {} | {mib} | {eps} |",
                row.name,
                human(row.median_ns)
            )?;
            for peer in &peers {
                let base = rows
                    .iter()
                    .find(|r| r.name == *peer)
                    .map(|r| r.median_ns)
                    .unwrap_or(f64::NAN);
                write!(out, " {:.2}x |", base / row.median_ns)?;
            }
            writeln!(out)?;
        }
    }
    client_cpu(&dir, &mut out)?;
    goals(&groups, &mut out)?;
    startup(root, &mut out)?;
    println!("{out}");
    Ok(())
}

/// The client's own CPU time per chunk (`client-cpu.tsv`, written by the client bench), and what
/// each row adds over the raw byte floor.
fn client_cpu(dir: &Path, out: &mut String) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join("client-cpu.tsv")) else {
        return Ok(());
    };
    let mut rows: Vec<(&str, f64)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(name, us)| Some((name, us.parse().ok()?)))
        .collect();
    rows.sort_by(|a, b| a.1.total_cmp(&b.1));
    let floor = rows
        .iter()
        .find(|(name, _)| *name == "raw-reqwest-bytes")
        .map_or(f64::NAN, |r| r.1);
    writeln!(
        out,
        "\n### Client CPU per chunk (the client's thread only, 20 streams)\n\n\
         | | µs per chunk | over the raw byte floor |\n|---|---:|---:|"
    )?;
    for (name, us) in rows {
        writeln!(out, "| {name} | {us:.2} | {:+.2} |", us - floor)?;
    }
    Ok(())
}

/// One goal: `row` must be at least `at_least` times as fast as the fastest of `peers` (rows
/// given as "group/name"); `per_byte` compares time per byte (for rows of different corpora).
struct Goal {
    text: &'static str,
    row: &'static str,
    peers: &'static [&'static str],
    at_least: f64,
    per_byte: bool,
}

const fn goal(
    text: &'static str,
    row: &'static str,
    peers: &'static [&'static str],
    at_least: f64,
) -> Goal {
    Goal {
        text,
        row,
        peers,
        at_least,
        per_byte: false,
    }
}

/// Issue 13's goals, as ratios of rows of one run.
const GOALS: &[Goal] = &[
    goal(
        "framing, owned events, >= 2x sse-stream (chat, 16 KiB pieces)",
        "framing/chat-16k/quickrouter",
        &["framing/chat-16k/sse-stream"],
        2.0,
    ),
    goal(
        "framing, owned events, >= 2x sse-stream (CRLF, 16 KiB pieces)",
        "framing/chat-crlf-16k/quickrouter",
        &["framing/chat-crlf-16k/sse-stream"],
        2.0,
    ),
    goal(
        "framing, owned events, >= 2x sse-stream (keep-alives, 16 KiB pieces)",
        "framing/chat-keepalive-16k/quickrouter",
        &["framing/chat-keepalive-16k/sse-stream"],
        2.0,
    ),
    goal(
        "framing >= 1.2x the fastest peer in 1..64-byte pieces",
        "framing/chat-1to64/quickrouter",
        &["framing/chat-1to64/sse-stream", "framing/chat-1to64/sseer"],
        1.2,
    ),
    goal(
        "framing >= 1.0x sse-stream on 64 KiB events",
        "framing/large-64k-events-16k/quickrouter",
        &["framing/large-64k-events-16k/sse-stream"],
        1.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (chat, 16 KiB)",
        "framing/chat-16k/quickrouter",
        &["framing/chat-16k/eventsource-stream"],
        10.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (CRLF)",
        "framing/chat-crlf-16k/quickrouter",
        &["framing/chat-crlf-16k/eventsource-stream"],
        10.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (keep-alives)",
        "framing/chat-keepalive-16k/quickrouter",
        &["framing/chat-keepalive-16k/eventsource-stream"],
        10.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (1..64-byte pieces)",
        "framing/chat-1to64/quickrouter",
        &["framing/chat-1to64/eventsource-stream"],
        10.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (64 KiB events)",
        "framing/large-64k-events-16k/quickrouter",
        &["framing/large-64k-events-16k/eventsource-stream"],
        10.0,
    ),
    goal(
        "framing >= 10x eventsource-stream (whole 2 MiB body)",
        "framing/chat-whole-2mib/quickrouter",
        &["framing/chat-whole-2mib/eventsource-stream"],
        10.0,
    ),
    Goal {
        text: "a whole body in one piece within 2x of 16 KiB pieces (time per byte)",
        row: "framing/chat-whole-2mib/quickrouter",
        peers: &["framing/chat-16k/quickrouter"],
        at_least: 0.5,
        per_byte: true,
    },
    goal(
        "decode into the generated type >= 1.0x serde_json into a minimal mirror",
        "decode/chat-16k/decode-alone",
        &["decode/chat-16k/serde_json-mirror"],
        1.0,
    ),
    goal(
        "framing + decode >= 0.95x decode alone",
        "decode/chat-16k/quickrouter",
        &["decode/chat-16k/decode-alone"],
        0.95,
    ),
    goal(
        "framing + decode >= 2.8x eventsource-stream + async-openai's type",
        "decode/chat-16k/quickrouter",
        &["decode/chat-16k/eventsource-stream+async-openai"],
        2.8,
    ),
    goal(
        "client >= 2x async-openai",
        "client/stream-10k-chunks/quickrouter",
        &["client/stream-10k-chunks/async-openai"],
        2.0,
    ),
    goal(
        "client >= 0.8x the raw byte floor",
        "client/stream-10k-chunks/quickrouter",
        &["client/stream-10k-chunks/raw-reqwest-bytes"],
        0.8,
    ),
];

fn goals(groups: &BTreeMap<String, Vec<Row>>, out: &mut String) -> Result<()> {
    let find = |path: &str| -> Option<&Row> {
        let (group, name) = path.rsplit_once('/')?;
        groups.get(group)?.iter().find(|r| r.name == name)
    };
    let cost = |row: &Row, per_byte: bool| {
        if per_byte {
            row.median_ns / row.bytes.unwrap_or(f64::NAN)
        } else {
            row.median_ns
        }
    };
    writeln!(out, "\n### Goals (issue 13)\n")?;
    writeln!(out, "| goal | ratio | target | met |\n|---|---:|---:|---|")?;
    for goal in GOALS {
        let Some(row) = find(goal.row) else {
            writeln!(
                out,
                "| {} | not measured | {:.2}x | |",
                goal.text, goal.at_least
            )?;
            continue;
        };
        let fastest = goal
            .peers
            .iter()
            .filter_map(|p| find(p).map(|r| (p, cost(r, goal.per_byte))))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((peer, base)) = fastest else {
            writeln!(
                out,
                "| {} | no peer measured | {:.2}x | |",
                goal.text, goal.at_least
            )?;
            continue;
        };
        let ratio = base / cost(row, goal.per_byte);
        let peer = peer.rsplit_once('/').map_or(*peer, |(_, name)| name);
        writeln!(
            out,
            "| {} | {ratio:.2}x (vs {peer}) | {:.2}x | {} |",
            goal.text,
            goal.at_least,
            if ratio >= goal.at_least { "yes" } else { "no" }
        )?;
    }
    Ok(())
}

/// `quickrouter --help` start-up (median of 50 runs) and the release binary's size (built first:
/// cargo does nothing when it is up to date).
fn startup(root: &Path, out: &mut String) -> Result<()> {
    let bin = root.join("target/release/quickrouter");
    {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "-p", "quickrouter-cli"])
            .current_dir(root)
            .status()?;
        anyhow::ensure!(status.success(), "building the release CLI failed");
    }
    let mut times: Vec<f64> = (0..50)
        .map(|_| {
            let start = std::time::Instant::now();
            let status = std::process::Command::new(&bin)
                .arg("--help")
                .stdout(std::process::Stdio::null())
                .status();
            status.map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<std::io::Result<_>>()?;
    times.sort_by(f64::total_cmp);
    let size = std::fs::metadata(&bin)?.len() as f64 / 1e6;
    writeln!(
        out,
        "\n### The CLI\n\n`quickrouter --help`: median {:.1} ms over 50 runs (goal: under 50 ms: {}); \
         release binary {size:.1} MB ({}).",
        times[times.len() / 2],
        if times[times.len() / 2] < 50.0 { "met" } else { "not met" },
        bin.display()
    )?;
    Ok(())
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

//! `cargo xtask bench-report`: the table of the last `cargo bench -p quickrouter-benches` run, from
//! criterion's own files (`target/criterion/*/*/new/`): median time, MiB/s, events/s, and the
//! ratios against the peers measured in the same run.

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
        &["serde_json-alone", "eventsource-stream+serde_json"]
    } else if group.starts_with("client/") {
        &["raw-reqwest-bytes", "async-openai"]
    } else {
        &[]
    }
}

struct Row {
    name: String,
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
            groups.entry(group_id).or_default().push(Row {
                name,
                median_ns: estimates["median"]["point_estimate"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                bytes: meta["throughput"]["Bytes"].as_f64(),
                elements: meta["throughput"]["Elements"].as_f64(),
            });
        }
    }
    let mut out = String::new();
    for (group, mut rows) in groups {
        rows.sort_by(|a, b| a.median_ns.total_cmp(&b.median_ns));
        let events = corpora
            .get(&group)
            .and_then(|c| c["events"].as_f64())
            .or(rows.first().and_then(|r| r.elements));
        let peers: Vec<&str> = baselines(&group)
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
        for row in &rows {
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
    println!("{out}");
    Ok(())
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

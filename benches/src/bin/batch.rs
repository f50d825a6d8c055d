//! Jobs per second of a 2,000-job chat batch over loopback, with the SQLite ledger on disk and
//! with one in memory (what the file costs): `cargo run --release -p quickrouter-benches --bin batch`.
//!
//! The emulator runs in this process (its own thread); three runs of each, the median reported.

use std::time::Instant;

use quickrouter::batch::{self, BatchOptions, Job, JobKind};
use serde_json::json;

fn jobs(n: usize) -> Vec<Job> {
    (0..n)
        .map(|i| Job {
            line: i + 1,
            custom_id: format!("job-{i}"),
            kind: JobKind::Chat,
            body: json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("prompt {i}")}]})
                .as_object()
                .unwrap()
                .clone(),
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let (_emulator, runtime, client) = quickrouter_benches::loopback();
    let root = std::env::temp_dir().join(format!("quickrouter-batch-bench-{}", std::process::id()));
    let mut rates = [Vec::new(), Vec::new()];
    for round in 0..3 {
        for (slot, in_memory) in [(0, false), (1, true)] {
            let dir = root.join(format!("{round}-{in_memory}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let options = BatchOptions {
                concurrency: 16,
                ledger_in_memory: in_memory,
                ..BatchOptions::default()
            };
            let started = Instant::now();
            let report = runtime
                .block_on(batch::run(
                    &client,
                    jobs(n),
                    &dir,
                    options,
                    std::future::pending(),
                    |_| {},
                ))
                .unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            assert_eq!(report.summary.done as usize, n);
            rates[slot].push(n as f64 / elapsed);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let file = median(&mut rates[0]);
    let memory = median(&mut rates[1]);
    println!("{n}-job chat batch over loopback, concurrency 16, median of 3:");
    println!("  ledger on disk:   {file:.0} jobs/s");
    println!("  ledger in memory: {memory:.0} jobs/s");
    println!(
        "  the file costs {:.1}% ({:.0} µs a job)",
        (1.0 - file / memory) * 100.0,
        (1.0 / file - 1.0 / memory) * 1e6
    );
}

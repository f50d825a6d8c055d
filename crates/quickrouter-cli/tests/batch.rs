//! `quickrouter batch` against the emulator: a 2,000-job run, SIGKILL and resume with every job
//! exactly once, video jobs never created twice, the adaptive window under a concurrency limit,
//! input errors, merge and status.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{command, emulator, run, scratch, Emulator};

fn write_jobs(dir: &Path, lines: impl IntoIterator<Item = Value>) -> PathBuf {
    let path = dir.join("jobs.jsonl");
    let text: String = lines.into_iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn chat_jobs(n: usize, model: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"custom_id": format!("job-{i}"), "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": format!("prompt job-{i}")}]}}))
        .collect()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// How many times the emulator received each job's request (by the prompt it carries).
fn sent_per_job(
    emu: &Emulator,
    path: &str,
    field: impl Fn(&Value) -> Option<String>,
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in emu.requests_to(path) {
        if let Some(key) = field(&request.json()) {
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

#[test]
fn a_killed_chat_batch_resumes_and_every_job_appears_exactly_once() {
    let emu = emulator();
    let dir = scratch("batch-kill");
    let jobs = write_jobs(&dir, chat_jobs(2_000, "gpt-4o-mini"));
    let out = dir.join("out");
    let args = [
        "batch",
        "run",
        jobs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--concurrency",
        "16",
    ];

    // Kill it with SIGKILL somewhere in the middle (where depends on the run: any point will do).
    let mut child = command(&emu)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let target = 300 + (std::process::id() as usize % 900);
    let started = Instant::now();
    let results = out.join("results.jsonl");
    loop {
        let done = std::fs::read(&results).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        if done >= target || started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.wait().unwrap();
    let before_rerun = emu.requests_to("/chat/completions").len();
    assert!(
        before_rerun < 2_000,
        "the kill came before the end ({before_rerun} sent)"
    );

    let rerun = run(&emu, &args);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    let results = lines(&out.join("results.jsonl"));
    assert_eq!(results.len(), 2_000);
    let mut ids: Vec<&str> = results
        .iter()
        .map(|r| r["custom_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2_000, "every job exactly once");
    for result in &results {
        let id = result["custom_id"].as_str().unwrap();
        assert_eq!(result["response"]["status_code"], 200);
        assert_eq!(result["error"], Value::Null);
        let text = result["response"]["body"]["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        assert_eq!(text, format!("You said: prompt {id}"));
        assert!(result["response"]["request_id"]
            .as_str()
            .unwrap()
            .ends_with("emu"));
    }
    // Each request reached the relay once, but for the few in flight at the kill.
    let sent = sent_per_job(&emu, "/chat/completions", |b| {
        b["messages"][0]["content"].as_str().map(str::to_owned)
    });
    assert_eq!(sent.len(), 2_000);
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(sent.values().all(|n| *n <= 2), "{twice:?}");
    assert!(
        twice.len() <= 16,
        "only those in flight at the kill: {}",
        twice.len()
    );
    assert!(lines(&out.join("errors.jsonl")).is_empty());

    let status = run(
        &emu,
        &["batch", "status", out.to_str().unwrap(), "--output", "json"],
    );
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["done"], 2_000);
    assert_eq!(status["failed"], 0);
    assert_eq!(status["usage"]["total_tokens"], 2_000 * 6);
}

#[test]
fn a_killed_video_batch_never_creates_a_task_twice() {
    let emu = quickrouter_tests::emulator_with_step(Duration::from_millis(150), None);
    let dir = scratch("batch-video-kill");
    let jobs: Vec<Value> = (0..24)
        .map(|i| {
            let url = if i % 2 == 0 { "/v1/video/create" } else { "/v1/videos" };
            json!({"custom_id": format!("clip/{i}"), "url": url, "body": {"model": "veo3.1-fast", "prompt": format!("clip {i}")}})
        })
        .collect();
    let jobs = write_jobs(&dir, jobs);
    let out = dir.join("out");
    let args = [
        "batch",
        "run",
        jobs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--concurrency",
        "4",
        "--poll-interval",
        "0.05",
    ];
    let mut child = command(&emu)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill while tasks are being created and polled.
    let started = Instant::now();
    while emu.requests().len() < 10 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let rerun = run(&emu, &args);
    assert!(rerun.code == 0 || rerun.code == 1, "{}", rerun.stderr);
    let created = sent_per_job(&emu, "/create", |b| b["prompt"].as_str().map(str::to_owned));
    let created_openai = sent_per_job(&emu, "/videos", |b| b["prompt"].as_str().map(str::to_owned));
    for (prompt, n) in created.iter().chain(created_openai.iter()) {
        assert_eq!(*n, 1, "{prompt} created {n} times");
    }
    let results = lines(&out.join("results.jsonl"));
    let errors = lines(&out.join("errors.jsonl"));
    assert_eq!(
        results.len() + errors.len(),
        24,
        "every job once: {} + {}",
        results.len(),
        errors.len()
    );
    for error in &errors {
        assert_eq!(error["error"]["code"], "create_unconfirmed", "{error}");
    }
    for result in &results {
        assert!(result["response"]["body"]["id"].is_string());
        let stem = result["custom_id"].as_str().unwrap().replace('/', "_");
        assert!(
            out.join("media").join(format!("{stem}.mp4")).exists(),
            "{stem}"
        );
    }
    assert_eq!(rerun.code == 1, !errors.is_empty());

    // --retry-failed sends the unconfirmed creates (the user's decision), and nothing else again.
    let before: usize = emu.requests_to("/create").len() + emu.requests_to("/videos").len();
    let mut retry = args.to_vec();
    retry.push("--retry-failed");
    let again = run(&emu, &retry);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let after: usize = emu.requests_to("/create").len() + emu.requests_to("/videos").len();
    assert_eq!(after - before, errors.len());
    assert_eq!(lines(&out.join("results.jsonl")).len(), 24);
    assert!(
        lines(&out.join("errors.jsonl")).is_empty(),
        "a job that succeeds later leaves errors.jsonl"
    );
}

#[test]
fn the_window_adapts_to_a_concurrency_limit() {
    let emu = emulator();
    let dir = scratch("batch-aimd");
    let jobs = write_jobs(&dir, chat_jobs(600, "limited-4"));
    let out = dir.join("out");
    let started = emu.statuses().len();
    let result = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--concurrency",
            "32",
        ],
    );
    assert_eq!(result.code, 0, "no job failed: {}", result.stderr);
    assert_eq!(lines(&out.join("results.jsonl")).len(), 600);
    let statuses = &emu.statuses()[started..];
    let first = statuses[0].0;
    let late: Vec<u16> = statuses
        .iter()
        .filter(|(at, _)| *at >= first + Duration::from_secs(1))
        .map(|(_, s)| *s)
        .collect();
    let refused = late.iter().filter(|s| **s == 429).count();
    let share = refused as f64 / late.len().max(1) as f64;
    println!(
        "limited-4 at --concurrency 32: {} answers, {} refused in all; after the first second {refused} of {} ({:.1}%)",
        statuses.len(),
        statuses.iter().filter(|(_, s)| *s == 429).count(),
        late.len(),
        share * 100.0
    );
    assert!(
        share < 0.05,
        "{:.1}% refused after the first second",
        share * 100.0
    );

    // A per-key rate limit with Retry-After: waited on, nothing fails.
    let jobs = write_jobs(&dir, chat_jobs(100, "rate-limited"));
    let out = dir.join("out-rate");
    let result = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--concurrency",
            "32",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(lines(&out.join("results.jsonl")).len(), 100);
}

#[test]
fn bad_input_is_refused_by_line_before_anything_is_sent() {
    let emu = emulator();
    let dir = scratch("batch-input");
    let good = chat_jobs(2, "gpt-4o-mini");
    for (bad, needle) in [
        (
            json!({"custom_id": "job-0", "url": "/v1/chat/completions", "body": {}}),
            "also on line 1",
        ),
        (
            json!({"custom_id": "x", "url": "/v1/embeddings", "body": {}}),
            "unknown url",
        ),
        (json!("not an object"), "not a JSON object"),
    ] {
        let jobs = write_jobs(&dir, [good[0].clone(), good[1].clone(), bad]);
        let result = run(
            &emu,
            &[
                "batch",
                "run",
                jobs.to_str().unwrap(),
                "--out",
                dir.join("o").to_str().unwrap(),
            ],
        );
        assert_eq!(result.code, 2, "{}", result.stderr);
        assert!(
            result.stderr.contains("line 3") && result.stderr.contains(needle),
            "{}",
            result.stderr
        );
    }
    std::fs::write(dir.join("broken.jsonl"), "{\"custom_id\": \"a\",\n").unwrap();
    let result = run(
        &emu,
        &[
            "batch",
            "run",
            dir.join("broken.jsonl").to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ],
    );
    assert_eq!(result.code, 2);
    assert!(result.stderr.contains("line 1"), "{}", result.stderr);
    assert!(emu.requests().is_empty(), "nothing sent");
}

#[test]
fn failures_auth_shards_and_merge() {
    let emu = emulator();
    let dir = scratch("batch-misc");
    let mut jobs = chat_jobs(20, "gpt-4o-mini");
    jobs.push(json!({"custom_id": "bad-request", "url": "/v1/chat/completions", "body": {"model": "fault-400", "messages": [{"role": "user", "content": "x"}]}}));
    jobs.push(json!({"custom_id": "failed-video", "url": "/v1/video/create", "body": {"model": "video-fail", "prompt": "x"}}));
    let jobs = write_jobs(&dir, jobs);

    // Some jobs fail: exit 1, one line each in errors.jsonl.
    let out = dir.join("out");
    let result = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--poll-interval",
            "0.02",
        ],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let errors = lines(&out.join("errors.jsonl"));
    let codes: Vec<&str> = errors
        .iter()
        .map(|e| e["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["invalid_request", "generation_failed"]);
    assert_eq!(errors[0]["response"]["status_code"], 400);
    // A rerun does not send them again, and still says some failed.
    let sent = emu.requests().len();
    let rerun = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(rerun.code, 1);
    assert_eq!(emu.requests().len(), sent);

    // A refused key stops the run: exit 3, the jobs stay pending for a rerun with the right key.
    let refused = dir.join("refused");
    let result = run_with_key(
        &emu,
        "sk-wrong",
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            refused.to_str().unwrap(),
        ],
    );
    assert_eq!(result.code, 3, "{}", result.stderr);
    let status = run(
        &emu,
        &[
            "batch",
            "status",
            refused.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["failed"], 0);
    assert_eq!(status["done"], 0);

    // Shards: together they cover every job once; merge prints their lines unchanged.
    let jobs = write_jobs(&dir, chat_jobs(50, "gpt-4o-mini"));
    let mut dirs = Vec::new();
    for k in 0..3 {
        let shard = dir.join(format!("shard-{k}"));
        let result = run(
            &emu,
            &[
                "batch",
                "run",
                jobs.to_str().unwrap(),
                "--out",
                shard.to_str().unwrap(),
                "--shard",
                &format!("{k}/3"),
            ],
        );
        assert_eq!(result.code, 0, "{}", result.stderr);
        dirs.push(shard);
    }
    let mut args = vec!["batch", "merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    let merged = run(&emu, &args);
    assert_eq!(merged.code, 0);
    assert_eq!(merged.stdout.lines().count(), 50);
    let first_shard = std::fs::read_to_string(dirs[0].join("results.jsonl")).unwrap();
    assert!(merged.stdout.starts_with(&first_shard), "unchanged lines");
    let bad_shard = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            "x",
            "--shard",
            "3/3",
        ],
    );
    assert_eq!(bad_shard.code, 2);
}

fn run_with_key(emu: &Emulator, key: &str, args: &[&str]) -> support::Run {
    support::run_with(support::command_for(&emu.base_url(), key), args, None)
}

#[test]
fn a_cut_results_line_is_repaired_before_appending() {
    let emu = emulator();
    let dir = scratch("batch-repair");
    let jobs = write_jobs(&dir, chat_jobs(10, "gpt-4o-mini"));
    let out = dir.join("out");
    assert_eq!(
        run(
            &emu,
            &[
                "batch",
                "run",
                jobs.to_str().unwrap(),
                "--out",
                out.to_str().unwrap()
            ]
        )
        .code,
        0
    );
    // Simulate a kill mid-write: the last line cut in half, the ledger saying that job is not done.
    let path = out.join("results.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.trim_end().rsplit('\n').next().unwrap();
    let id: Value = serde_json::from_str(last).unwrap();
    let cut = &text[..text.len() - last.len() / 2 - 1];
    std::fs::write(&path, cut).unwrap();
    let sent = emu.requests().len();
    let rerun = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    let results = lines(&path);
    assert_eq!(
        results.len(),
        10,
        "the cut line repaired and its job done again"
    );
    assert_eq!(results[9]["custom_id"], id["custom_id"]);
    assert_eq!(
        emu.requests().len(),
        sent + 1,
        "only that job was sent again"
    );
    // `status` and `merge` need no key.
    let status = std::process::Command::new(support::BIN)
        .env_remove("QUICKROUTER_API_KEY")
        .args(["batch", "status", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("total 10\ndone 10\n"));
}

#[test]
fn a_job_that_keeps_failing_transiently_fails_after_its_attempts() {
    let emu = emulator();
    let dir = scratch("batch-attempts");
    let jobs = write_jobs(
        &dir,
        [
            json!({"custom_id": "down", "url": "/v1/chat/completions", "body": {"model": "fault-503", "messages": [{"role": "user", "content": "x"}]}}),
        ],
    );
    let out = dir.join("out");
    let result = run(
        &emu,
        &[
            "batch",
            "run",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let errors = lines(&out.join("errors.jsonl"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["error"]["code"], "model_not_available");
    assert_eq!(errors[0]["response"]["status_code"], 503);
    assert_eq!(
        emu.requests_to("/chat/completions").len(),
        3,
        "three attempts, then failed"
    );
}

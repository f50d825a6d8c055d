//! Peak memory while consuming a ~100 MB stream: `cargo run --release -p quickrouter-benches --bin rss`.
//!
//! Reads the process's peak RSS (`VmHWM`, Linux) before and after streaming `long` with 400,000
//! chunks through `ChatStream`, dropping each chunk. A flat peak means the client holds nothing it
//! does not need. Then the same stream is collected into one completion, for contrast (that holds
//! the whole answer's text, by design). Then a plain byte reader counts the answer's wire size.
//!
//! Last, the `quickrouter` binary (built beside this one: `cargo build --release -p
//! quickrouter-cli` first) streams the same answer in each output mode, its stdout to /dev/null,
//! and its peak RSS is read from `/proc/PID/status` while it runs, beside a run with a tiny answer
//! (the idle process).

use futures_util::StreamExt;
use quickrouter::{ChatMessage, CreateChatCompletionRequest};
use quickrouter_emulator::Emulator;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The peak RSS of `pid` so far, in KiB (`VmHWM`), or 0 once it is gone.
fn peak_rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Run the CLI against `emulator` and return its peak RSS (KiB), sampled while it runs.
fn cli_peak(cli: &std::path::Path, emulator: &Emulator, args: &[&str]) -> u64 {
    let mut child = std::process::Command::new(cli)
        .args(args)
        .env("QUICKROUTER_BASE_URL", emulator.base_url())
        .env("QUICKROUTER_API_KEY", emulator.api_key())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the quickrouter binary runs");
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss_of(child.id()));
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn main() {
    let chunks: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(400_000);
    let (emulator, runtime, client) = quickrouter_benches::loopback();
    let request =
        CreateChatCompletionRequest::new("long", [ChatMessage::user("x")]).max_tokens(chunks);

    // Warm up: one small stream, so the runtime, pools and buffers exist before the baseline.
    runtime.block_on(async {
        let small = request.clone().max_tokens(1000);
        let mut stream = client.chat().stream(&small).await.unwrap();
        while stream.next().await.is_some() {}
    });
    let baseline = peak_rss_kib();
    let count = runtime.block_on(async {
        let mut stream = client.chat().stream(&request).await.unwrap();
        let mut count = 0u64;
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
            count += 1;
        }
        count
    });
    let after_stream = peak_rss_kib();
    let completion = runtime.block_on(async {
        client
            .chat()
            .stream(&request)
            .await
            .unwrap()
            .collect_completion()
            .await
            .unwrap()
    });
    let after_collect = peak_rss_kib();
    let bytes = runtime.block_on(async {
        let raw = quickrouter::transport::client::plain_client_builder().build().unwrap();
        let body = serde_json::json!({"model": "long", "stream": true, "max_tokens": chunks, "messages": [{"role": "user", "content": "x"}]});
        let response = raw
            .post(format!("{}/chat/completions", emulator.base_url()))
            .bearer_auth(emulator.api_key())
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let mut stream = response.bytes_stream();
        let mut bytes = 0u64;
        while let Some(piece) = stream.next().await {
            bytes += piece.unwrap().len() as u64;
        }
        bytes
    });
    println!(
        "chunks streamed:            {count} ({:.1} MB of SSE on the wire)",
        bytes as f64 / 1e6
    );
    println!("peak RSS before:            {baseline} KiB");
    println!(
        "peak RSS after streaming:   {after_stream} KiB (+{} KiB)",
        after_stream.saturating_sub(baseline)
    );
    println!(
        "peak RSS after collecting:  {after_collect} KiB (+{} KiB; the answer holds {} KiB of text)",
        after_collect.saturating_sub(after_stream),
        completion.text().map_or(0, str::len) / 1024
    );

    let cli = std::env::current_exe()
        .unwrap()
        .with_file_name(format!("quickrouter{}", std::env::consts::EXE_SUFFIX));
    if !cli.exists() {
        println!("(no {} beside this binary: build it with `cargo build --release -p quickrouter-cli` to measure the CLI)", cli.display());
        return;
    }
    let tokens = chunks.to_string();
    let idle = cli_peak(
        &cli,
        &emulator,
        &["chat", "-m", "long", "--max-tokens", "10", "x"],
    );
    println!("CLI peak RSS, a 10-word answer (idle process): {idle} KiB");
    for mode in ["text", "ndjson", "json"] {
        let peak = cli_peak(
            &cli,
            &emulator,
            &[
                "chat",
                "-m",
                "long",
                "--max-tokens",
                &tokens,
                "--output",
                mode,
                "x",
            ],
        );
        println!(
            "CLI peak RSS, --output {mode:<6} ({:.0} MB answer): {peak} KiB (+{} KiB over idle)",
            bytes as f64 / 1e6,
            peak.saturating_sub(idle)
        );
    }
}

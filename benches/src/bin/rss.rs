//! Peak memory while consuming a ~100 MB stream: `cargo run --release -p quickrouter-benches --bin rss`.
//!
//! Reads the process's peak RSS (`VmHWM`, Linux) before and after streaming `long` with 400,000
//! chunks through `ChatStream`, dropping each chunk. A flat peak means the client holds nothing it
//! does not need. Then the same stream is collected into one completion, for contrast (that holds
//! the whole answer's text, by design). Last, a plain byte reader counts the answer's wire size.

use futures_util::StreamExt;
use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest};
use quickrouter_emulator::{Emulator, Options};

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let chunks: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(400_000);
    let emulator = Emulator::start(Options::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .build()
        .unwrap();
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
}

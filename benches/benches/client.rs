//! The whole client path over loopback: stream a 10,000-chunk answer from the emulator and
//! consume it with (a) quickrouter's `ChatStream`, (b) async-openai's chat stream, and (c) a raw
//! reqwest byte stream that only counts bytes (the floor). Same emulator, same run. Two more
//! rows take the floor apart from the client: the raw byte stream through quickrouter's SSE
//! stream (`raw+sse`), and that plus decoding every chunk (`raw+sse+json`); the rest of what
//! `ChatStream` costs is the facade's own layers.
//! `cargo bench -p quickrouter-benches --bench client`

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, CreateChatCompletionRequest as AoRequest,
};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures_util::StreamExt;
use quickrouter::transport::{SseDecoder, SseStream};
use quickrouter::types::{json, ChatCompletionChunk};
use quickrouter::{ChatMessage, CreateChatCompletionRequest};
use quickrouter_benches::{loopback, raw_chat_body};

const CHUNKS: u32 = 10_000;

fn client_stream(c: &mut Criterion) {
    // quickrouter's client first: it installs the TLS provider the other reqwest clients need.
    let (emulator, runtime, ours) = loopback();
    let request =
        CreateChatCompletionRequest::new("long", [ChatMessage::user("x")]).max_tokens(CHUNKS);
    let theirs = async_openai::Client::with_config(
        OpenAIConfig::new()
            .with_api_base(emulator.base_url())
            .with_api_key(emulator.api_key()),
    );
    let their_request = AoRequest {
        model: "long".into(),
        messages: vec![ChatCompletionRequestMessage::User("x".into())],
        max_completion_tokens: Some(CHUNKS),
        ..Default::default()
    };
    let raw = quickrouter::transport::client::plain_client_builder()
        .build()
        .unwrap();

    let quickrouter_run = || async {
        let mut stream = ours.chat().stream(&request).await.unwrap();
        let mut n = 0u32;
        while let Some(chunk) = stream.next().await {
            n += chunk.unwrap().choices.len() as u32;
        }
        n
    };
    let async_openai_run = || async {
        let mut stream = theirs
            .chat()
            .create_stream(their_request.clone())
            .await
            .unwrap();
        let mut n = 0u32;
        while let Some(chunk) = stream.next().await {
            n += chunk.unwrap().choices.len() as u32;
        }
        n
    };
    let raw_sse_run = |decode: bool| {
        let body = raw_chat_body(&raw, &emulator, CHUNKS);
        async move {
            let mut events = SseStream::new(body.await, SseDecoder::new(), None);
            let mut n = 0u32;
            while let Some(event) = events.next().await {
                let event = event.unwrap();
                if decode && &event.data[..] != b"[DONE]" {
                    let chunk: ChatCompletionChunk = json::from_slice(&event.data).unwrap();
                    n += chunk.choices.len() as u32;
                } else if !decode {
                    n += 1;
                }
            }
            n
        }
    };
    let raw_run = || async {
        let mut bytes = 0usize;
        let mut body = raw_chat_body(&raw, &emulator, CHUNKS).await;
        while let Some(piece) = body.next().await {
            bytes += piece.unwrap().len();
        }
        bytes
    };
    // The three must read the same answer: 10,000 words plus the role and finish chunks.
    assert_eq!(runtime.block_on(quickrouter_run()), CHUNKS + 2);
    assert_eq!(runtime.block_on(async_openai_run()), CHUNKS + 2);
    assert_eq!(runtime.block_on(raw_sse_run(true)), CHUNKS + 2);
    assert_eq!(runtime.block_on(raw_sse_run(false)), CHUNKS + 3);
    let bytes = runtime.block_on(raw_run());
    eprintln!("stream: {} chunks, {bytes} bytes", CHUNKS + 2);

    // CPU time of the client's own thread (the emulator runs on another), per chunk: what the
    // client adds, apart from waiting for the server.
    for (name, cpu) in [
        (
            "quickrouter",
            cpu_per_chunk(|| runtime.block_on(quickrouter_run()) as usize),
        ),
        (
            "async-openai",
            cpu_per_chunk(|| runtime.block_on(async_openai_run()) as usize),
        ),
        (
            "raw+sse+json",
            cpu_per_chunk(|| runtime.block_on(raw_sse_run(true)) as usize),
        ),
        (
            "raw+sse",
            cpu_per_chunk(|| runtime.block_on(raw_sse_run(false)) as usize - 1),
        ),
        (
            "raw-reqwest-bytes",
            cpu_per_chunk(|| {
                runtime.block_on(raw_run());
                (CHUNKS + 2) as usize
            }),
        ),
    ] {
        eprintln!("client CPU per chunk, {name}: {cpu:.2} µs (this thread only, 20 runs)");
        record_cpu(name, cpu);
    }

    let mut group = c.benchmark_group("client/stream-10k-chunks");
    group.throughput(Throughput::Elements(u64::from(CHUNKS) + 2));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("quickrouter", |b| {
        b.iter(|| runtime.block_on(quickrouter_run()))
    });
    group.bench_function("async-openai", |b| {
        b.iter(|| runtime.block_on(async_openai_run()))
    });
    group.bench_function("raw+sse+json", |b| {
        b.iter(|| runtime.block_on(raw_sse_run(true)))
    });
    group.bench_function("raw+sse", |b| {
        b.iter(|| runtime.block_on(raw_sse_run(false)))
    });
    group.bench_function("raw-reqwest-bytes", |b| {
        b.iter(|| runtime.block_on(raw_run()))
    });
    group.finish();
}

/// This thread's CPU time (user + system), from /proc (Linux), in seconds.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Microseconds of this thread's CPU per chunk over 20 runs of `run` (which returns its chunks).
fn cpu_per_chunk(mut run: impl FnMut() -> usize) -> f64 {
    let before = thread_cpu();
    let mut chunks = 0;
    for _ in 0..20 {
        chunks += run();
    }
    (thread_cpu() - before) * 1e6 / chunks.max(1) as f64
}

/// Keep the CPU figures beside criterion's results for `cargo xtask bench-report`.
fn record_cpu(name: &str, micros: f64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("client-cpu.tsv");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{name}\t")))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{name}\t{micros:.3}\n"));
    let _ = std::fs::write(path, text);
}

criterion_group!(benches, client_stream);
criterion_main!(benches);

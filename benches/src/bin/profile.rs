//! A workload to profile: `profile decode` frames and decodes the chat corpus over and over;
//! `profile client` streams the 10,000-chunk answer through `ChatStream`. Run it under a sampling
//! profiler, e.g. `perf record -e cpu-clock -g target/release/profile client` (build with
//! `CARGO_PROFILE_RELEASE_DEBUG=true` for symbols). Findings: benches/README.md.

use futures_util::StreamExt;
use quickrouter::transport::sse::SseDecoder;
use quickrouter::types::ChatCompletionChunk;
use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest};
use quickrouter_benches::{chat_corpus, fixed_pieces};
use quickrouter_emulator::{Emulator, Options};

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("decode") => decode(),
        Some("client") => client(),
        _ => eprintln!("usage: profile decode|client"),
    }
}

fn decode() {
    let body = chat_corpus(20_000, "\n", 0);
    let pieces = fixed_pieces(&body, 16 * 1024);
    let mut n = 0usize;
    for _ in 0..200 {
        let mut decoder = SseDecoder::new();
        for piece in &pieces {
            decoder.feed_bytes(piece.clone());
            while let Some(event) = decoder.next_event().unwrap() {
                if &event.data[..] != b"[DONE]" {
                    let chunk: ChatCompletionChunk = serde_json::from_slice(&event.data).unwrap();
                    n += chunk.choices.len();
                }
            }
        }
    }
    println!("{n} choices");
}

fn client() {
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
        CreateChatCompletionRequest::new("long", [ChatMessage::user("x")]).max_tokens(10_000);
    let mut n = 0usize;
    for _ in 0..100 {
        n += runtime.block_on(async {
            let mut stream = client.chat().stream(&request).await.unwrap();
            let mut n = 0;
            while let Some(chunk) = stream.next().await {
                n += chunk.unwrap().choices.len();
            }
            n
        });
    }
    println!("{n} choices");
}

//! A workload to profile: `profile decode` frames and decodes the chat corpus over and over;
//! `profile client` streams the 10,000-chunk answer through `ChatStream`; `profile framing` and
//! `profile framing-small` frame the chat corpus (owned events) in 16 KiB and 1..64-byte pieces;
//! `profile client-sse` streams the same answer through a raw reqwest body and `SseStream` only.
//! Run it under a sampling profiler, e.g. `perf record -e cpu-clock -g target/release/profile
//! client` (build with `CARGO_PROFILE_RELEASE_DEBUG=true` for symbols). Findings:
//! benches/README.md.

use futures_util::StreamExt;
use quickrouter::transport::sse::SseDecoder;
use quickrouter::types::ChatCompletionChunk;
use quickrouter::{ChatMessage, CreateChatCompletionRequest};
use quickrouter_benches::{chat_corpus, fixed_pieces, random_pieces};

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("decode") => decode(),
        Some("client") => client(),
        Some("client-sse") => client_sse(),
        Some("framing") => framing(16 * 1024),
        Some("framing-small") => framing(0),
        _ => eprintln!("usage: profile decode|client|framing|framing-small"),
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

/// Framing alone (owned events), in 16 KiB pieces or (`piece == 0`) random 1..64-byte pieces.
fn framing(piece: usize) {
    let body = chat_corpus(20_000, "\n", 0);
    let pieces = if piece == 0 {
        random_pieces(&body, 64)
    } else {
        fixed_pieces(&body, piece)
    };
    let mut n = 0usize;
    let rounds = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(if piece == 0 { 200 } else { 2_000 });
    for _ in 0..rounds {
        let mut decoder = SseDecoder::new();
        for piece in &pieces {
            decoder.feed_bytes(piece.clone());
            while let Some(event) = decoder.next_event().unwrap() {
                n += std::hint::black_box(event.data.len()) & 1;
            }
        }
    }
    println!("{n}");
}

/// The raw byte stream through the SSE layer, no decoding: what framing adds on the wire.
fn client_sse() {
    use quickrouter::transport::{SseDecoder, SseStream};
    let (emulator, runtime, _client) = quickrouter_benches::loopback();
    let raw = quickrouter::transport::client::plain_client_builder()
        .build()
        .unwrap();
    let mut n = 0usize;
    for _ in 0..100 {
        n += runtime.block_on(async {
            let body = quickrouter_benches::raw_chat_body(&raw, &emulator, 10_000).await;
            let mut events = SseStream::new(body, SseDecoder::new(), None);
            let mut n = 0;
            while let Some(event) = events.next().await {
                n += event.unwrap().data.len() & 1;
            }
            n
        });
    }
    println!("{n}");
}

fn client() {
    let (_emulator, runtime, client) = quickrouter_benches::loopback();
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

//! SSE framing and framing + decoding throughput, every parser over the same bytes in the same
//! run. `cargo bench -p quickrouter-benches --bench sse`; see benches/README.md for the table.
//!
//! Parsers:
//! - `quickrouter`: the sans-IO `SseDecoder` (feed, then take events);
//! - `quickrouter-stream`: the same through its async `SseStream` adapter (what the client runs);
//! - `sse-stream`: the fastest other Rust parser we know (`SseByteStream`);
//! - `eventsource-stream`: what reqwest-eventsource and async-openai use;
//! - `memchr-floor`: counting `\n` with memchr, the physical floor for touching every byte.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use eventsource_stream::Eventsource;
use quickrouter_benches::{
    byte_stream, chat_corpus, drain, fixed_pieces, large_corpus, random_pieces,
};
use quickrouter_transport::{SseDecoder, SseStream};
use quickrouter_types::{json, ChatCompletionChunk};

type Infallible = std::io::Error;

fn quickrouter_count(pieces: &[Bytes]) -> usize {
    let mut decoder = SseDecoder::new();
    let mut n = 0;
    for piece in pieces {
        decoder.feed_bytes(piece.clone());
        while let Some(event) = decoder.next_event().unwrap() {
            n += black_box(event.data.len()) & 1 | 1;
        }
    }
    n
}

fn quickrouter_ref_count(pieces: &[Bytes]) -> usize {
    let mut decoder = SseDecoder::new();
    let mut n = 0;
    for piece in pieces {
        decoder.feed_bytes(piece.clone());
        while let Some(event) = decoder.next_event_ref().unwrap() {
            n += black_box(event.data.len()) & 1 | 1;
        }
    }
    n
}

fn quickrouter_stream_count(pieces: &[Bytes]) -> usize {
    let stream = SseStream::new(
        byte_stream::<quickrouter_transport::Error>(pieces),
        SseDecoder::new(),
        None,
    );
    let mut n = 0;
    drain(stream, |event| {
        n += black_box(event.unwrap().data.len()) & 1 | 1
    });
    n
}

fn sse_stream_count(pieces: &[Bytes]) -> usize {
    let stream = sse_stream::SseByteStream::new(byte_stream::<Infallible>(pieces));
    let mut n = 0;
    drain(stream, |event| {
        let event = event.unwrap();
        if event.data.is_some() {
            n += black_box(event.data.as_ref().map_or(0, String::len)) & 1 | 1;
        }
    });
    n
}

fn sseer_count(pieces: &[Bytes]) -> usize {
    let stream = sseer::EventStream::new(byte_stream::<Infallible>(pieces));
    let mut n = 0;
    drain(stream, |event| {
        n += black_box(event.unwrap().data.len()) & 1 | 1
    });
    n
}

fn eventsource_count(pieces: &[Bytes]) -> usize {
    let stream = byte_stream::<Infallible>(pieces).eventsource();
    let mut n = 0;
    drain(stream, |event| {
        n += black_box(event.unwrap().data.len()) & 1 | 1
    });
    n
}

fn memchr_floor(pieces: &[Bytes]) -> usize {
    pieces
        .iter()
        .map(|p| memchr::memchr_iter(b'\n', p).count())
        .sum()
}

struct Corpus {
    name: &'static str,
    pieces: Vec<Bytes>,
    bytes: u64,
    events: usize,
}

fn corpus(name: &'static str, body: Vec<u8>, pieces: impl Fn(&[u8]) -> Vec<Bytes>) -> Corpus {
    let pieces = pieces(&body);
    let events = quickrouter_count(&pieces);
    Corpus {
        name,
        bytes: body.len() as u64,
        pieces,
        events,
    }
}

fn corpora() -> Vec<Corpus> {
    let chat = chat_corpus(20_000, "\n", 0);
    vec![
        corpus("chat-16k", chat.clone(), |b| fixed_pieces(b, 16 * 1024)),
        corpus("chat-crlf-16k", chat_corpus(20_000, "\r\n", 0), |b| {
            fixed_pieces(b, 16 * 1024)
        }),
        corpus("chat-keepalive-16k", chat_corpus(20_000, "\n", 1), |b| {
            fixed_pieces(b, 16 * 1024)
        }),
        corpus("chat-1to64", chat.clone(), |b| random_pieces(b, 64)),
        corpus("large-64k-events-16k", large_corpus(80, 64 * 1024), |b| {
            fixed_pieces(b, 16 * 1024)
        }),
        // 2 MiB in one piece: eventsource-stream's cost grows with the square of the piece.
        corpus("chat-whole-2mib", chat[..2 << 20].to_vec(), |b| {
            vec![Bytes::copy_from_slice(b)]
        }),
    ]
}

/// Where the report (`cargo xtask bench-report`) finds each corpus's event count.
fn record_corpora(corpora: &[Corpus]) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let map: serde_json::Map<String, serde_json::Value> = corpora
        .iter()
        .map(|c| {
            (
                format!("framing/{}", c.name),
                serde_json::json!({"bytes": c.bytes, "events": c.events}),
            )
        })
        .chain(std::iter::once((
            "decode/chat-16k".to_owned(),
            serde_json::json!({"events": 20_000}),
        )))
        .collect();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join("quickrouter-corpora.json"),
        serde_json::Value::Object(map).to_string(),
    );
}

fn framing(c: &mut Criterion) {
    let corpora = corpora();
    record_corpora(&corpora);
    for corpus in corpora {
        let mut group = c.benchmark_group(format!("framing/{}", corpus.name));
        group.throughput(Throughput::Bytes(corpus.bytes));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        if corpus.name.contains("whole") {
            group.sampling_mode(SamplingMode::Flat);
        }
        // Every parser must see the same events, or the comparison means nothing.
        assert_eq!(
            quickrouter_stream_count(&corpus.pieces),
            corpus.events,
            "{}",
            corpus.name
        );
        assert_eq!(
            quickrouter_ref_count(&corpus.pieces),
            corpus.events,
            "{}",
            corpus.name
        );
        assert_eq!(
            sse_stream_count(&corpus.pieces),
            corpus.events,
            "{}",
            corpus.name
        );
        assert_eq!(
            eventsource_count(&corpus.pieces),
            corpus.events,
            "{}",
            corpus.name
        );
        assert_eq!(
            sseer_count(&corpus.pieces),
            corpus.events,
            "{}",
            corpus.name
        );
        let p = &corpus.pieces;
        group.bench_with_input(BenchmarkId::from_parameter("quickrouter"), p, |b, p| {
            b.iter(|| quickrouter_count(p))
        });
        group.bench_with_input(BenchmarkId::from_parameter("quickrouter-ref"), p, |b, p| {
            b.iter(|| quickrouter_ref_count(p))
        });
        group.bench_with_input(
            BenchmarkId::from_parameter("quickrouter-stream"),
            p,
            |b, p| b.iter(|| quickrouter_stream_count(p)),
        );
        group.bench_with_input(BenchmarkId::from_parameter("sse-stream"), p, |b, p| {
            b.iter(|| sse_stream_count(p))
        });
        group.bench_with_input(
            BenchmarkId::from_parameter("eventsource-stream"),
            p,
            |b, p| b.iter(|| eventsource_count(p)),
        );
        group.bench_with_input(BenchmarkId::from_parameter("sseer"), p, |b, p| {
            b.iter(|| sseer_count(p))
        });
        group.bench_with_input(BenchmarkId::from_parameter("memchr-floor"), p, |b, p| {
            b.iter(|| memchr_floor(p))
        });
        group.finish();
        eprintln!(
            "corpus {}: {} bytes, {} events",
            corpus.name, corpus.bytes, corpus.events
        );
    }
}

/// Framing + decoding into the generated chunk type (what `ChatStream` does: owned events,
/// `quickrouter_types::json::from_slice`), against the same decode over pre-split payloads
/// (`decode-alone`), serde_json into a minimal hand-written mirror of the fields, serde_json's own
/// `from_slice` into the generated type, and eventsource-stream + serde_json or async-openai's type.
fn pipeline(c: &mut Criterion) {
    let body = chat_corpus(20_000, "\n", 0);
    let pieces = fixed_pieces(&body, 16 * 1024);
    let payloads: Vec<Bytes> = quickrouter_benches::quickrouter_events(&pieces)
        .into_iter()
        .filter(|d| &d[..] != b"[DONE]")
        .collect();
    let mut group = c.benchmark_group("decode/chat-16k");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("quickrouter", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut n = 0;
            for piece in &pieces {
                decoder.feed_bytes(piece.clone());
                while let Some(event) = decoder.next_event().unwrap() {
                    if &event.data[..] != b"[DONE]" {
                        let chunk: ChatCompletionChunk = json::from_slice(&event.data).unwrap();
                        n += black_box(chunk.choices.len());
                    }
                }
            }
            n
        })
    });
    group.bench_function("quickrouter-ref", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut n = 0;
            for piece in &pieces {
                decoder.feed_bytes(piece.clone());
                while let Some(event) = decoder.next_event_ref().unwrap() {
                    if event.data != b"[DONE]" {
                        let chunk: ChatCompletionChunk = json::from_slice(event.data).unwrap();
                        n += black_box(chunk.choices.len());
                    }
                }
            }
            n
        })
    });
    group.bench_function("eventsource-stream+serde_json", |b| {
        b.iter(|| {
            let mut n = 0;
            drain(byte_stream::<Infallible>(&pieces).eventsource(), |event| {
                let event = event.unwrap();
                if event.data != "[DONE]" {
                    let chunk: ChatCompletionChunk = serde_json::from_str(&event.data).unwrap();
                    n += black_box(chunk.choices.len());
                }
            });
            n
        })
    });
    group.bench_function("eventsource-stream+async-openai", |b| {
        b.iter(|| {
            let mut n = 0;
            drain(byte_stream::<Infallible>(&pieces).eventsource(), |event| {
                let event = event.unwrap();
                if event.data != "[DONE]" {
                    let chunk: async_openai::types::chat::CreateChatCompletionStreamResponse =
                        serde_json::from_str(&event.data).unwrap();
                    n += black_box(chunk.choices.len());
                }
            });
            n
        })
    });
    // Decoding alone, over the pre-split payloads: each function returns the chunk's choice count.
    type Decode = fn(&[u8]) -> usize;
    let alone: [(&str, Decode); 3] = [
        ("serde_json-mirror", |p| {
            serde_json::from_slice::<mirror::Chunk>(p)
                .unwrap()
                .choices
                .len()
        }),
        ("decode-alone", |p| {
            json::from_slice::<ChatCompletionChunk>(p)
                .unwrap()
                .choices
                .len()
        }),
        ("serde_json-from_slice", |p| {
            serde_json::from_slice::<ChatCompletionChunk>(p)
                .unwrap()
                .choices
                .len()
        }),
    ];
    for (name, decode) in alone {
        group.bench_function(name, |b| {
            b.iter(|| payloads.iter().map(|p| black_box(decode(p))).sum::<usize>())
        });
    }
    group.finish();
}

/// A minimal hand-written mirror of the chunk's fields (no unknown-field map, no null tolerance,
/// closed enums as strings): what serde_json costs with nothing extra to do.
#[allow(dead_code)]
mod mirror {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Chunk {
        pub id: String,
        pub object: String,
        pub created: i64,
        pub model: Option<String>,
        pub system_fingerprint: Option<String>,
        pub choices: Vec<Choice>,
        pub usage: Option<Usage>,
    }

    #[derive(Deserialize)]
    pub struct Choice {
        pub index: u32,
        pub delta: Delta,
        pub finish_reason: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Delta {
        pub role: Option<String>,
        pub content: Option<String>,
        pub reasoning_content: Option<String>,
        pub refusal: Option<String>,
        #[serde(default)]
        pub tool_calls: Vec<serde_json::Value>,
    }

    #[derive(Deserialize)]
    pub struct Usage {
        pub prompt_tokens: u64,
        pub completion_tokens: u64,
        pub total_tokens: u64,
    }
}

criterion_group!(benches, framing, pipeline);
criterion_main!(benches);

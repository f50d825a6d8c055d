//! Corpora and drivers shared by the benches (and their sanity tests).
//!
//! Every corpus is generated in code, deterministically, so every parser sees the same bytes.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::Stream;

/// One realistic chat chunk event: `data: {...}\n\n`, about 270 bytes.
pub fn chat_event(i: usize, eol: &str) -> String {
    let words = [
        "Hello", " there", ",", " how", " may", " I", " assist", " you", " today", "?",
    ];
    let content = words[i % words.len()];
    format!(
        "data: {{\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012\",\"object\":\"chat.completion.chunk\",\"created\":1732471337,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}{eol}{eol}"
    )
}

/// A stream of `events` chat chunks with `eol` line ends, a keep-alive comment every
/// `keepalive_every` events (0: none), then `data: [DONE]`.
pub fn chat_corpus(events: usize, eol: &str, keepalive_every: usize) -> Vec<u8> {
    let mut out = String::with_capacity(events * 280);
    for i in 0..events {
        if keepalive_every > 0 && i % keepalive_every == 0 {
            out.push_str(": keep-alive");
            out.push_str(eol);
            out.push_str(eol);
        }
        out.push_str(&chat_event(i, eol));
    }
    out.push_str("data: [DONE]");
    out.push_str(eol);
    out.push_str(eol);
    out.into_bytes()
}

/// `events` events of about `size` bytes of data each (large JSON strings, e.g. base64 images).
pub fn large_corpus(events: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(events * (size + 64));
    for i in 0..events {
        out.extend_from_slice(b"data: {\"index\":");
        out.extend_from_slice(i.to_string().as_bytes());
        out.extend_from_slice(b",\"b64\":\"");
        out.extend((0..size).map(|j| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i + j) % 64]
        }));
        out.extend_from_slice(b"\"}\n\n");
    }
    out
}

/// Cut `body` into pieces of `size` bytes.
pub fn fixed_pieces(body: &[u8], size: usize) -> Vec<Bytes> {
    body.chunks(size).map(Bytes::copy_from_slice).collect()
}

/// Cut `body` into pieces of 1..=`max` bytes, sizes from a fixed seed.
pub fn random_pieces(body: &[u8], max: usize) -> Vec<Bytes> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (1 + (state as usize) % max).min(rest.len());
        out.push(Bytes::copy_from_slice(&rest[..take]));
        rest = &rest[take..];
    }
    out
}

/// Drive a stream that never waits (its input is in memory) to the end, calling `each` per item.
pub fn drain<S: Stream + Unpin>(mut stream: S, mut each: impl FnMut(S::Item)) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match Pin::new(&mut stream).poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item),
            Poll::Ready(None) => return,
            Poll::Pending => panic!("an in-memory stream should never wait"),
        }
    }
}

/// The pieces as an in-memory byte stream.
pub fn byte_stream<'a, E: 'a>(
    pieces: &'a [Bytes],
) -> impl Stream<Item = Result<Bytes, E>> + Unpin + 'a {
    futures_util::stream::iter(pieces.iter().cloned().map(Ok))
}

/// The emulator on loopback, a current-thread runtime and a quickrouter client pointed at it:
/// the set-up of every client workload (the client's builder also installs the TLS provider the
/// raw reqwest clients need).
pub fn loopback() -> (
    quickrouter_emulator::Emulator,
    tokio::runtime::Runtime,
    quickrouter::Client,
) {
    let emulator = quickrouter_emulator::Emulator::start(quickrouter_emulator::Options::default())
        .expect("the emulator starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = quickrouter::Client::builder()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
        .build()
        .expect("a client");
    (emulator, runtime, client)
}

/// The body of the emulator's streamed answer of `chunks` words, asked for with reqwest alone (no
/// quickrouter code on the way): the client benches' floor, and what their SSE-layer rows read.
pub async fn raw_chat_body(
    raw: &quickrouter_transport::reqwest::Client,
    emulator: &quickrouter_emulator::Emulator,
    chunks: u32,
) -> impl Stream<Item = Result<Bytes, quickrouter_transport::Error>> + Unpin {
    use futures_util::StreamExt;
    let body = serde_json::json!({
        "model": "long",
        "stream": true,
        "max_tokens": chunks,
        "messages": [{"role": "user", "content": "x"}],
    });
    let response = raw
        .post(format!("{}/chat/completions", emulator.base_url()))
        .bearer_auth(emulator.api_key())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the emulator answers");
    response
        .bytes_stream()
        .map(|piece| Ok(piece.expect("the emulator's body arrives whole")))
}

/// The data of every event, decoded by quickrouter's sans-IO decoder.
pub fn quickrouter_events(pieces: &[Bytes]) -> Vec<Bytes> {
    let mut decoder = quickrouter_transport::SseDecoder::new();
    let mut out = Vec::new();
    for piece in pieces {
        decoder.feed(piece);
        while let Some(event) = decoder.next_event().expect("valid corpus") {
            out.push(event.data);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpora_have_the_advertised_shape() {
        let event = chat_event(0, "\n");
        assert!((250..300).contains(&event.len()), "{}", event.len());
        let body = chat_corpus(100, "\r\n", 10);
        let events = quickrouter_events(&random_pieces(&body, 64));
        assert_eq!(events.len(), 101);
        assert_eq!(&events[100][..], b"[DONE]");
        let large = large_corpus(3, 65536);
        assert_eq!(quickrouter_events(&fixed_pieces(&large, 16384)).len(), 3);
    }
}

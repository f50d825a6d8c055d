//! No input makes the client panic: arbitrary JSON values (bounded depth) and arbitrary bytes fed
//! to every response type it decodes, to the error decoder, the video task reader, the
//! accumulator and the prose readers. Each gives a value or a typed error.

use bytes::Bytes;
use proptest::prelude::*;
use quickrouter::chat::video::{failure, media_links, parse_progress, MediaScanner};
use quickrouter::transport::ApiError;
use quickrouter::types::{
    ChatCompletion, ChatCompletionChunk, ModelList, UnifiedVideoTask, Video, VideoContentLink,
};
use quickrouter::videos::{VideoApi, VideoTask};
use quickrouter::CompletionAccumulator;
use serde_json::Value;

/// Keys relays use, so that generated objects hit the interesting paths, plus anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "id", "object", "created", "model", "choices", "index", "delta", "message", "content",
            "role", "finish_reason", "tool_calls", "function", "arguments", "name", "usage",
            "prompt_tokens", "error", "message", "code", "type", "data", "status", "progress",
            "video_url", "url", "detail", "pending_info", "progress_pct", "error_message", "seconds",
            "reasoning_content", "reasoning", "refusal", "metadata", "task_id", "thumbnail_url",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            ".{0,12}",
            Just("STOP".to_owned()),
            Just("completed".to_owned()),
            Just("https://x.test/v.mp4".to_owned()),
            Just("进度 36%".to_owned()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn decode_everything(bytes: &[u8]) {
    let _ = serde_json::from_slice::<ChatCompletion>(bytes);
    let _ = serde_json::from_slice::<ModelList>(bytes);
    let _ = serde_json::from_slice::<Video>(bytes);
    let _ = serde_json::from_slice::<UnifiedVideoTask>(bytes);
    let _ = serde_json::from_slice::<VideoContentLink>(bytes);
    if let Ok(chunk) = serde_json::from_slice::<ChatCompletionChunk>(bytes) {
        let mut acc = CompletionAccumulator::new();
        acc.push(&chunk);
        acc.push(&chunk);
        let _ = acc.finish();
    }
    for status in [None, Some(200), Some(429), Some(524)] {
        let error = ApiError::from_body(status, bytes);
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
    }
    for api in [VideoApi::Unified, VideoApi::OpenAi] {
        if let Some(task) = VideoTask::from_json(api, Bytes::copy_from_slice(bytes), |id| {
            format!("http://x/{id}")
        }) {
            assert!(task.progress.is_none_or(|p| p <= 100));
            let _ = (task.is_success(), task.is_failure(), task.is_terminal());
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let _ = (parse_progress(&text), media_links(&text), failure(&text));
    let mut scanner = MediaScanner::new();
    for piece in text.as_bytes().chunks(3) {
        scanner.push(&String::from_utf8_lossy(piece));
    }
    let _ = scanner.finish();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        decode_everything(value.to_string().as_bytes());
        // The same value under the wrappers relays put around things.
        for wrapped in [
            serde_json::json!({"error": value.clone()}),
            serde_json::json!({"data": value.clone(), "id": null}),
            serde_json::json!({"choices": [{"index": 0, "delta": value.clone()}]}),
            serde_json::json!({"id": "x", "detail": value.clone(), "status": "processing"}),
        ] {
            decode_everything(wrapped.to_string().as_bytes());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn arbitrary_html_never_panics(parts in prop::collection::vec(prop_oneof![
        Just("<title>".to_owned()), Just("</title>".to_owned()), Just("<!--".to_owned()),
        Just("-->".to_owned()), Just("<h1 a=b>".to_owned()), Just("&#x1F600;".to_owned()),
        Just("&#99999999;".to_owned()), Just("Ray ID: ".to_owned()), Just("cloudflare".to_owned()),
        Just("<script>".to_owned()), ".{0,8}",
    ], 0..24)) {
        let page = format!("<html>{}", parts.concat());
        decode_everything(page.as_bytes());
    }
}

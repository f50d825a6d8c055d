//! Round-trip tests over fixtures taken from the seed page and from what relays send.

use quickrouter_types::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parse a fixture, serialize it, parse that again: the two values must be equal.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    name: &str,
) -> (T, Value) {
    let text = fixture(name);
    let first: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let written = serde_json::to_value(&first).unwrap();
    let second: T = serde_json::from_value(written.clone()).unwrap();
    assert_eq!(first, second, "{name} changed on a round trip");
    (first, written)
}

/// A canonical fixture must come back equal as JSON, but for `null`s (an unset field is not sent).
fn exact<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let (value, written) = round_trip::<T>(name);
    let mut original: Value = serde_json::from_str(&fixture(name)).unwrap();
    strip_nulls(&mut original);
    assert_eq!(written, original, "{name} did not survive exactly");
    value
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[test]
fn seed_request_round_trips_exactly() {
    let request: CreateChatCompletionRequest = exact("seed_request.json");
    assert_eq!(request.model, "sora-2");
    assert_eq!(request.max_tokens, Some(1000));
    assert_eq!(request.stream, Some(true));
    assert!(
        matches!(&request.messages[0], ChatMessage::User { content: MessageContent::String(s), .. } if s.starts_with("an astronaut"))
    );
}

#[test]
fn seed_response_round_trips_exactly() {
    let completion: ChatCompletion = exact("seed_response.json");
    assert_eq!(
        completion.text(),
        Some("\n\nHello there, how may I assist you today?")
    );
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(completion.object, ObjectType::ChatCompletion);
    assert_eq!(completion.usage.unwrap().total_tokens, 21);
}

#[test]
fn streamed_chunks_round_trip_exactly() {
    let text: ChatCompletionChunk = exact("chunk_text.json");
    assert_eq!(text.choices[0].delta.content.as_deref(), Some("Hello"));
    assert_eq!(text.choices[0].finish_reason, None);

    let tools: ChatCompletionChunk = exact("chunk_tool_calls.json");
    let calls = &tools.choices[0].delta.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].index, 1);
    assert_eq!(
        calls[1].function.as_ref().unwrap().arguments.as_deref(),
        Some("{\"city\":")
    );

    let progress: ChatCompletionChunk = exact("chunk_video_progress.json");
    assert_eq!(
        progress.choices[0].delta.reasoning_text(),
        Some("🏃 进度 36..")
    );
}

#[test]
fn role_chunk_reads_and_drops_only_nulls() {
    let (role, _) = round_trip::<ChatCompletionChunk>("chunk_role.json");
    assert_eq!(role.choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(role.system_fingerprint.as_deref(), Some("fp_1"));
}

#[test]
fn usage_only_chunk_has_no_choices_and_keeps_unknown_usage_fields() {
    let chunk: ChatCompletionChunk = exact("chunk_usage_only.json");
    assert!(chunk.choices.is_empty());
    let usage = chunk.usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (9, 12, 21)
    );
    assert_eq!(
        usage.extra["prompt_tokens_details"],
        json!({"cached_tokens": 0})
    );
}

#[test]
fn relay_quirks_never_fail_a_chunk() {
    let (chunk, _) = round_trip::<ChatCompletionChunk>("chunk_relay_quirks.json");
    assert_eq!(chunk.id, "", "null id reads as empty");
    assert_eq!(chunk.created, 0);
    assert_eq!(chunk.usage, None);
    let [first, second, third] = &chunk.choices[..] else {
        panic!("three choices")
    };
    assert_eq!(
        first.finish_reason,
        Some(FinishReason::Stop),
        "STOP is stop"
    );
    assert!(
        first.delta.tool_calls.is_empty(),
        "tool_calls: null reads as empty"
    );
    assert_eq!(
        first.delta.extra["audio"],
        json!({"id": "a1"}),
        "unknown delta fields are kept"
    );
    assert_eq!(
        second.delta,
        ChunkDelta::default(),
        "delta: null reads as empty"
    );
    assert_eq!(
        second.finish_reason,
        Some(FinishReason::Other("error".into()))
    );
    assert_eq!(third.delta.role, Some(Role::Other("critic".into())));
    assert_eq!(
        third.finish_reason,
        Some(FinishReason::Other(String::new()))
    );
}

#[test]
fn relay_quirks_never_fail_a_completion() {
    let (completion, written) = round_trip::<ChatCompletion>("completion_relay_quirks.json");
    let message = &completion.choices[0].message;
    assert_eq!(message.content, None);
    assert_eq!(message.reasoning_content.as_deref(), Some("thinking"));
    assert_eq!(message.extra["annotations"], json!([]));
    assert_eq!(completion.extra["provider"], json!("OpenAI"));
    assert_eq!(
        written["provider"],
        json!("OpenAI"),
        "unknown top-level fields are written back"
    );
    assert_eq!(completion.usage.unwrap().extra["cost"], json!(0.0001));
}

#[test]
fn a_request_built_from_defaults_sends_only_what_was_set() {
    let bare = CreateChatCompletionRequest::new("m", [ChatMessage::user("hi")]);
    assert_eq!(
        serde_json::to_value(&bare).unwrap(),
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[test]
fn every_builder_setter_reaches_the_wire() {
    let request = CreateChatCompletionRequest::new("m", [ChatMessage::system("be brief")])
        .message(ChatMessage::user(vec![
            ContentPart::text("what is this?"),
            ContentPart::image_url("https://x/y.png"),
        ]))
        .message(ChatMessage::assistant("earlier"))
        .message(ChatMessage::tool("call_1", "42"))
        .temperature(0.5)
        .top_p(0.9)
        .n(2)
        .max_tokens(10)
        .stop(Stop::Array(vec!["a".into(), "b".into()]))
        .seed(7)
        .presence_penalty(0.1)
        .frequency_penalty(-0.1)
        .logit_bias("50256", -100)
        .user("u1")
        .json_object()
        .stream(true)
        .include_usage(true)
        .tool(Tool::function("f", "does f", serde_json::Map::new()))
        .tool_choice(ToolChoice::function("f"))
        .extra("top_k", 40);
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
                ]},
                {"role": "assistant", "content": "earlier"},
                {"role": "tool", "content": "42", "tool_call_id": "call_1"}
            ],
            "temperature": 0.5, "top_p": 0.9, "n": 2, "max_tokens": 10, "stop": ["a", "b"],
            "seed": 7, "presence_penalty": 0.1, "frequency_penalty": -0.1,
            "logit_bias": {"50256": -100}, "user": "u1",
            "response_format": {"type": "json_object"}, "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "description": "does f"}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "top_k": 40
        })
    );
    let modes: Vec<Value> = [ToolChoice::NONE, ToolChoice::AUTO, ToolChoice::REQUIRED]
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    assert_eq!(modes, [json!("none"), json!("auto"), json!("required")]);
}

#[test]
fn generated_deserializers_of_structs_keeping_unknown_fields() {
    // Escaped keys, unknown keys (nulls included), nulls on known fields, duplicate-free output.
    let delta: ChunkDelta = serde_json::from_str(
        r#"{"con\u0074ent": "hi", "tool_calls": null, "x_new": [1], "x_null": null, "role": "ASSISTANT"}"#,
    )
    .unwrap();
    assert_eq!(delta.content.as_deref(), Some("hi"));
    assert!(delta.tool_calls.is_empty());
    assert_eq!(delta.role, Some(Role::Assistant));
    assert_eq!(delta.extra["x_new"], json!([1]));
    assert_eq!(delta.extra["x_null"], Value::Null);
    assert!(serde_json::from_str::<ChunkDelta>(r#""not an object""#).is_err());
    assert!(
        serde_json::from_str::<ChunkDelta>(r#"{"content": 5}"#).is_err(),
        "wrong types still fail"
    );
    let usage: Usage = serde_json::from_str(r#"{"total_tokens": 3}"#).unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.total_tokens),
        (0, 3),
        "absent counts read as 0"
    );
}

//! The `quickrouter` crate's public API against every emulator scenario, over loopback.

use std::time::Duration;

use futures_util::StreamExt;
use quickrouter::chat::video::{ChatVideoResult, MediaKind, ProgressTracker, VideoProgress};
use quickrouter::tools::{function_tool, ToolCallExt};
use quickrouter::types::{ChatCompletionChunk, ObjectType, Stop};
use quickrouter::{
    ApiErrorKind, ChatMessage, Client, CompletionAccumulator, CreateChatCompletionRequest, Error,
    FinishReason, RequestOptions, Role, StreamError, TimeoutKind,
};
use quickrouter_tests::{ask, builder, chat_requests, client, emulator};
use serde_json::json;

/// Stream `request`, returning every chunk and the error that ended the stream.
async fn chunks(
    client: &Client,
    request: &CreateChatCompletionRequest,
) -> (Vec<ChatCompletionChunk>, Option<Error>) {
    let stream = client.chat().stream(request).await.unwrap();
    let mut out = Vec::new();
    let error = stream.drain(|chunk, _| out.push(chunk.clone())).await;
    (out, error)
}

#[tokio::test]
async fn create_returns_the_whole_answer_and_sends_only_what_was_set() {
    let emu = emulator(None);
    let client = client(&emu);
    let answer = client
        .chat()
        .create(&ask("gpt-4o-mini", "hello world"))
        .await
        .unwrap();
    assert_eq!(answer.text(), Some("You said: hello world"));
    assert_eq!(answer.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(answer.object, ObjectType::ChatCompletion);
    assert_eq!(answer.usage.as_ref().unwrap().completion_tokens, 4);
    let sent = chat_requests(&emu)[0].json();
    assert_eq!(
        sent,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello world"}]})
    );
}

#[tokio::test]
async fn stream_sets_stream_true_and_ends_cleanly_at_done() {
    let emu = emulator(None);
    let (chunks, error) = chunks(&client(&emu), &ask("gpt-4o-mini", "one two three")).await;
    assert!(error.is_none(), "{error:?}");
    let text: String = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.content.clone())
        .collect();
    assert_eq!(text, "You said: one two three");
    let sent = &chat_requests(&emu)[0];
    assert_eq!(sent.json()["stream"], json!(true));
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn n_max_tokens_stop_and_usage_are_honoured_and_collected() {
    let emu = emulator(None);
    let request = ask("gpt-4o-mini", "alpha beta gamma delta")
        .n(2)
        .max_tokens(4)
        .include_usage(true);
    let completion = client(&emu)
        .chat()
        .stream(&request)
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    assert_eq!(completion.choices.len(), 2);
    assert_eq!(
        completion.choices[0].message.content.as_deref(),
        Some("You said: alpha beta")
    );
    assert_eq!(
        completion.choices[1].message.content.as_deref(),
        Some("[1] You said: alpha")
    );
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::Length)
    );
    assert_eq!(
        completion.usage.unwrap().completion_tokens,
        8,
        "4 words in each choice"
    );

    let stopped = client(&emu)
        .chat()
        .create(&ask("gpt-4o-mini", "red green blue").stop(Stop::Array(vec!["green".into()])))
        .await
        .unwrap();
    assert_eq!(stopped.text(), Some("You said: red "));
    assert_eq!(chat_requests(&emu)[1].json()["stop"], json!(["green"]));
}

#[tokio::test]
async fn the_usage_only_chunk_has_no_choices() {
    let emu = emulator(None);
    let (chunks, _) = chunks(&client(&emu), &ask("gpt-4o-mini", "x").include_usage(true)).await;
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage.as_ref().unwrap().total_tokens, 4);
}

#[tokio::test]
async fn chat_video_progress_and_the_video_link_with_split_bytes() {
    for split in [None, Some(5)] {
        let emu = emulator(split);
        let client = client(&emu);
        let mut stream = client
            .chat()
            .stream(&ask("video-chat", "a cat surfing"))
            .await
            .unwrap();
        assert!(stream.request_id().is_some());
        let (mut tracker, mut acc, mut notes) = (
            ProgressTracker::new(),
            CompletionAccumulator::new(),
            Vec::new(),
        );
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            notes.extend(tracker.push(&chunk));
            acc.push(&chunk);
        }
        assert!(
            matches!(&notes[0], VideoProgress::Queued { task_id: Some(id), .. } if id.starts_with("task_"))
        );
        let percents: Vec<f32> = notes
            .iter()
            .filter_map(|n| match n {
                VideoProgress::Percent { percent, .. } => Some(*percent),
                _ => None,
            })
            .collect();
        assert_eq!(percents, [12.0, 36.0, 64.0, 76.0]);
        assert_eq!(tracker.percent(), Some(76.0));
        let completion = acc.finish();
        assert!(completion.choices[0]
            .message
            .reasoning_content
            .as_deref()
            .unwrap()
            .contains("🏃 进度 36.."));
        let result = ChatVideoResult::from_completion(&completion);
        assert_eq!(result.failure, None);
        let video = result.video().unwrap();
        assert!(video
            .url
            .starts_with(&format!("{}/files/task_", emu.origin())));
        assert_eq!(
            result.media.iter().map(|m| m.kind).collect::<Vec<_>>(),
            [MediaKind::Video, MediaKind::Image]
        );
        assert_eq!(result.task_id.as_deref(), tracker.task_id());
    }
}

#[tokio::test]
async fn video_chat_inline_progress_is_read_from_content() {
    let emu = emulator(None);
    let (chunks, error) = chunks(&client(&emu), &ask("video-chat-inline", "a dog")).await;
    assert!(error.is_none());
    let mut tracker = ProgressTracker::new();
    chunks.iter().for_each(|c| {
        tracker.push(c);
    });
    assert_eq!(tracker.percent(), Some(76.0));
    let completion: CompletionAccumulator = chunks.into_iter().collect();
    assert!(ChatVideoResult::from_completion(&completion.finish())
        .video()
        .is_some());
}

#[tokio::test]
async fn video_chat_failures_with_http_200_and_as_error_events() {
    let emu = emulator(None);
    let client = client(&emu);
    let completion = client
        .chat()
        .stream(&ask("video-chat-fail", "x"))
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    let result = ChatVideoResult::from_completion(&completion);
    assert!(result.video().is_none());
    assert!(result.failure.unwrap().contains("content policies"));

    let (chunks, error) = chunks(&client, &ask("video-chat-error", "x")).await;
    assert!(
        chunks.len() >= 6,
        "the progress before the error is delivered"
    );
    match error {
        Some(Error::Stream(StreamError::ErrorEvent(api))) => {
            assert_eq!(api.code.as_deref(), Some("generation_failed"));
            assert!(api.message.starts_with("视频生成失败"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn parallel_tool_calls_are_merged_by_index_and_parse_into_types() {
    #[derive(serde::Deserialize, quickrouter::schemars::JsonSchema, Debug, PartialEq)]
    #[schemars(crate = "quickrouter::schemars")]
    struct GetWeather {
        city: String,
        unit: String,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        country: String,
    }
    let emu = emulator(Some(3));
    let client = client(&emu);
    let request = ask("tools", "weather?").tool(function_tool::<GetWeather>(
        "get_weather",
        "weather of a city",
    ));
    let completion = client
        .chat()
        .stream(&request)
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    let calls = &completion.choices[0].message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].function.name.as_str()),
        ("call_weather_1", "get_weather")
    );
    assert_eq!(
        calls[1].function.arguments,
        r#"{"timezone": "Europe/Paris"}"#
    );
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
    let args: GetWeather = calls[0].parse_arguments().unwrap();
    assert_eq!(
        args,
        GetWeather {
            city: "Paris".into(),
            unit: "celsius".into()
        }
    );
    let error = calls[0].parse_arguments::<Wrong>().unwrap_err();
    assert!(
        error.to_string().contains("missing field `country`"),
        "{error}"
    );

    let sent = chat_requests(&emu)[0].json();
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["required"],
        json!(["city", "unit"])
    );
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["type"],
        json!("object")
    );

    // The non-stream answer holds the same calls.
    let whole = client.chat().create(&request).await.unwrap();
    assert_eq!(whole.choices[0].message.tool_calls, *calls);
}

#[tokio::test]
async fn relay_quirks_never_fail_a_stream_or_an_answer() {
    let emu = emulator(Some(2));
    let client = client(&emu);
    let completion = client
        .chat()
        .stream(&ask("quirks", "x"))
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    let choice = &completion.choices[0];
    assert_eq!(choice.message.content.as_deref(), Some("quirky answer"));
    assert_eq!(choice.message.reasoning_content.as_deref(), Some("hmm "));
    assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
    assert_eq!(choice.message.role, Some(Role::Assistant));
    assert_eq!(completion.usage.unwrap().total_tokens, 3);

    let whole = client.chat().create(&ask("quirks", "x")).await.unwrap();
    assert_eq!(whole.id, "");
    assert_eq!(whole.text(), Some("quirky answer"));
    assert_eq!(whole.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(whole.extra["provider"], json!("Emulated"));
}

#[tokio::test]
async fn broken_streams_yield_everything_then_a_typed_error() {
    let emu = emulator(None);
    let client = builder(&emu)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    for model in [
        "fault-midstream-error",
        "fault-no-done",
        "fault-reset",
        "fault-invalid-json",
        "fault-silent",
    ] {
        let (chunks, error) = chunks(&client, &ask(model, "x")).await;
        let text: String = chunks
            .iter()
            .filter_map(|c| c.choices.first()?.delta.content.clone())
            .collect();
        assert_eq!(text, "partial answer", "{model}");
        let ok = match (model, &error) {
            ("fault-midstream-error", Some(Error::Stream(StreamError::ErrorEvent(_)))) => true,
            ("fault-no-done", Some(Error::Stream(StreamError::EndedWithoutDone))) => true,
            ("fault-reset", Some(Error::Stream(StreamError::Reset { .. }))) => true,
            (
                "fault-invalid-json",
                Some(Error::Stream(StreamError::InvalidEvent { snippet, .. })),
            ) => snippet.contains("oops"),
            ("fault-silent", Some(Error::Timeout(TimeoutKind::Idle))) => true,
            _ => false,
        };
        assert!(ok, "{model}: {error:?}");
    }
}

#[tokio::test]
async fn collect_partial_keeps_what_arrived() {
    let emu = emulator(None);
    let stream = client(&emu)
        .chat()
        .stream(&ask("fault-no-done", "x"))
        .await
        .unwrap();
    let (completion, error) = stream.collect_partial().await;
    assert_eq!(completion.text(), Some("partial answer"));
    assert!(matches!(
        error,
        Some(Error::Stream(StreamError::EndedWithoutDone))
    ));
}

#[tokio::test]
async fn http_errors_are_matchable() {
    let emu = emulator(None);
    let client = builder(&emu).max_retries(0).build().unwrap();
    for (model, status, kind) in [
        ("fault-401", 401, ApiErrorKind::Authentication),
        ("fault-403", 403, ApiErrorKind::PermissionDenied),
        ("fault-403-quota", 403, ApiErrorKind::Quota),
        ("fault-429-quota", 429, ApiErrorKind::Quota),
        ("fault-429-long", 429, ApiErrorKind::RateLimit),
        ("fault-400", 400, ApiErrorKind::BadRequest),
        ("fault-503", 503, ApiErrorKind::Server),
    ] {
        let error = client.chat().create(&ask(model, "x")).await.unwrap_err();
        assert_eq!(error.status(), Some(status), "{model}");
        assert_eq!(error.kind(), Some(kind), "{model}");
        assert!(error.request_id().is_some(), "{model}");
        assert_eq!(
            error.is_retryable(),
            matches!(kind, ApiErrorKind::RateLimit | ApiErrorKind::Server),
            "{model}"
        );
    }
    let stream_error = client
        .chat()
        .stream(&ask("fault-400", "x"))
        .await
        .unwrap_err();
    assert_eq!(stream_error.status(), Some(400));
}

#[tokio::test]
async fn retries_happen_through_the_client() {
    let emu = emulator(None);
    let client = client(&emu);
    let answer = client
        .chat()
        .create(&ask("fault-502-then-ok", "x"))
        .await
        .unwrap();
    assert_eq!(answer.text(), Some("You said: x"));
    assert_eq!(chat_requests(&emu).len(), 2);
    let (chunks, error) = chunks(&client, &ask("fault-429-then-ok", "y")).await;
    assert!(error.is_none() && !chunks.is_empty());
}

#[tokio::test]
async fn request_timeout_and_per_request_options() {
    let emu = emulator(None);
    let client = client(&emu);
    let options = RequestOptions::new()
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .header("x-trace", "t-1")
        .extra_body("top_k", 40);
    let error = client
        .chat()
        .with_options(options)
        .create(&ask("fault-hang", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Request)),
        "{error:?}"
    );
    let sent = &chat_requests(&emu)[0];
    assert_eq!(sent.header("x-trace"), Some("t-1"));
    assert_eq!(sent.json()["top_k"], json!(40));
    assert_eq!(chat_requests(&emu).len(), 1);
}

#[tokio::test]
async fn models_are_listed() {
    let emu = emulator(None);
    let list = client(&emu).models().list().await.unwrap();
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&"video-chat") && ids.contains(&"gpt-4o-mini"));
    assert!(
        list.data[0].extra.contains_key("description"),
        "unknown model fields are kept"
    );
}

#[tokio::test]
async fn the_key_never_shows() {
    let emu = emulator(None);
    let client = builder(&emu)
        .api_key("sk-emulator")
        .forwarded_host("h.test")
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains("sk-emulator"));
    let error = Client::builder()
        .base_url(emu.base_url())
        .api_key("sk-not-the-right-one")
        .build()
        .unwrap()
        .chat()
        .create(&ask("x", "y"))
        .await
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("sk-not-the-right-one"));
}

#[tokio::test]
async fn from_env_and_the_builder_fail_clearly() {
    let missing = Client::builder()
        .from_env_with(|_| None)
        .build()
        .unwrap_err();
    assert!(
        missing.to_string().contains("QUICKROUTER_API_KEY"),
        "{missing}"
    );
    let bad_url = Client::builder()
        .api_key("k")
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert!(
        bad_url.to_string().contains("invalid base URL"),
        "{bad_url}"
    );
    let bad_header = Client::builder()
        .api_key("k")
        .header("bad header", "v")
        .build()
        .unwrap_err();
    assert!(
        bad_header.to_string().contains("invalid header"),
        "{bad_header}"
    );
    let emu = emulator(None);
    let env = |name: &str| match name {
        "QUICKROUTER_API_KEY" => Some("sk-emulator".to_owned()),
        "QUICKROUTER_BASE_URL" => Some(emu.base_url()),
        "QUICKROUTER_FORWARDED_HOST" => Some("fwd.test".to_owned()),
        _ => None,
    };
    let client = Client::builder().from_env_with(env).build().unwrap();
    client
        .chat()
        .create(&ask("gpt-4o-mini", "x"))
        .await
        .unwrap();
    assert_eq!(
        chat_requests(&emu)[0].header("x-forwarded-host"),
        Some("fwd.test")
    );
}

#[tokio::test]
async fn history_with_tool_results_is_sent_as_given() {
    let emu = emulator(None);
    let request = CreateChatCompletionRequest::new(
        "gpt-4o-mini",
        [
            ChatMessage::system("be brief"),
            ChatMessage::user("weather?"),
            ChatMessage::assistant_tool_calls(vec![quickrouter::ToolCall {
                id: "call_1".into(),
                type_: quickrouter::types::ToolKind::Function,
                function: quickrouter::types::FunctionCall {
                    name: "get_weather".into(),
                    arguments: "{}".into(),
                },
            }]),
            ChatMessage::tool("call_1", "sunny"),
            ChatMessage::user("thanks"),
        ],
    );
    let answer = client(&emu).chat().create(&request).await.unwrap();
    assert_eq!(answer.text(), Some("You said: thanks"));
    let sent = chat_requests(&emu)[0].json();
    assert_eq!(sent["messages"][2]["tool_calls"][0]["id"], json!("call_1"));
    assert_eq!(
        sent["messages"][3],
        json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    );
}

#[test]
fn the_client_is_cheap_to_clone_and_shareable() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    fn assert_send<T: Send + 'static>() {}
    assert_traits::<Client>();
    assert_send::<quickrouter::ChatStream>();
    assert_send::<Error>();
}

#[tokio::test]
async fn a_relay_that_ignores_stream_true_still_streams_its_answer() {
    let emu = emulator(None);
    let client = client(&emu);
    let request = ask("json-for-stream", "hello there").include_usage(true);
    let (chunks, error) = chunks(&client, &request).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        chunks.len(),
        2,
        "one chunk with the answer, one with the usage"
    );
    let completion: CompletionAccumulator = chunks.into_iter().collect();
    let completion = completion.finish();
    assert_eq!(completion.text(), Some("You said: hello there"));
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
    assert!(completion.usage.is_some());
}

#[tokio::test]
async fn an_error_body_with_http_200_is_an_error_and_not_retried() {
    let emu = emulator(None);
    let client = client(&emu);
    for stream in [true, false] {
        let error = if stream {
            client
                .chat()
                .stream(&ask("error-200", "x"))
                .await
                .unwrap_err()
        } else {
            client
                .chat()
                .create(&ask("error-200", "x"))
                .await
                .unwrap_err()
        };
        assert_eq!(error.status(), Some(200), "{error}");
        assert!(error.to_string().starts_with("上游返回错误"), "{error}");
        assert!(error.request_id().is_some());
    }
    assert_eq!(chat_requests(&emu).len(), 2, "neither was retried");
}

#[tokio::test]
async fn an_event_stream_labelled_json_is_read_as_a_stream() {
    let emu = emulator(None);
    let completion = client(&emu)
        .chat()
        .stream(&ask("sse-as-json", "odd label"))
        .await
        .unwrap()
        .collect_completion()
        .await
        .unwrap();
    assert_eq!(completion.text(), Some("You said: odd label"));
}

#[tokio::test]
async fn compressed_answers_are_decoded_and_streams_as_they_arrive() {
    let emu = emulator(None);
    let client = client(&emu);
    for model in ["compressed-gzip", "compressed-br", "compressed-zstd"] {
        let whole = client
            .chat()
            .create(&ask(model, "hello there"))
            .await
            .unwrap();
        assert_eq!(whole.text(), Some("You said: hello there"), "{model}");
        let (chunks, error) = chunks(&client, &ask(model, "hello there")).await;
        assert!(error.is_none(), "{model}: {error:?}");
        let text: String = chunks
            .iter()
            .filter_map(|c| c.choices.first()?.delta.content.clone())
            .collect();
        assert_eq!(text, "You said: hello there", "{model}");
    }
    let sent = &chat_requests(&emu)[0];
    let accepted = sent.header("accept-encoding").unwrap();
    for encoding in ["gzip", "br", "zstd"] {
        assert!(accepted.contains(encoding), "{accepted}");
    }

    // A compressed stream that stalls: what arrived before the silence is decoded and delivered.
    let stalling = builder(&emu)
        .idle_timeout(Duration::from_millis(500))
        .max_retries(0)
        .build()
        .unwrap();
    let (chunks, error) = chunks(&stalling, &ask("compressed-stall", "one two three")).await;
    assert!(
        chunks.len() >= 3,
        "decoded as it arrived: {} chunks",
        chunks.len()
    );
    assert!(
        matches!(error, Some(Error::Timeout(TimeoutKind::Idle))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_that_cannot_be_decoded_says_so() {
    let emu = emulator(None);
    let client = client(&emu);
    for model in ["compressed-bad", "compressed-unknown"] {
        let error = client.chat().create(&ask(model, "x")).await.unwrap_err();
        assert!(matches!(error, Error::Decode { .. }), "{model}: {error:?}");
        let text = error.to_string();
        assert!(
            text.contains("could not be decoded") || text.contains("cannot decode"),
            "{text}"
        );
        assert!(!text.contains("body starts"), "no raw bytes: {text}");
    }
}

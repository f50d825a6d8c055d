//! What the emulator answers, chosen by the request's `model`.
//!
//! Every answer is deterministic: text is derived from the prompt, so tests compare exactly.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

/// One step of a scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes.
    Write(Bytes),
    /// Stay silent this long.
    Pause(Duration),
    /// Reset the connection (the body breaks off).
    Reset,
    /// Go silent forever (until the client gives up).
    Hang,
}

/// Steps generated as they are written, so a long answer costs no memory up front.
pub struct LazySteps(pub Box<dyn Iterator<Item = Step> + Send>);

impl std::fmt::Debug for LazySteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LazySteps(..)")
    }
}

/// How the head of an answer looks.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body, in steps.
    pub steps: Vec<Step>,
    /// More steps after `steps`, generated as they are written.
    pub tail: Option<LazySteps>,
    /// Never send a response head at all.
    pub hang_before_head: bool,
    /// A load-limit slot held until the body is written.
    pub slot: Option<crate::limits::Slot>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            steps: vec![Step::Write(Bytes::from(body.to_string()))],
            tail: None,
            hang_before_head: false,
            slot: None,
        }
    }

    fn sse(steps: Vec<Step>) -> Self {
        Self {
            status: 200,
            headers: vec![("Cache-Control".into(), "no-cache".into())],
            content_type: "text/event-stream",
            steps,
            tail: None,
            hang_before_head: false,
            slot: None,
        }
    }
}

/// What a scenario needs to know of the request and the emulator.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The parsed body.
    pub body: &'a Value,
    /// `stream: true` was asked for.
    pub stream: bool,
    /// The emulator's own base address, for media links (`http://127.0.0.1:PORT`).
    pub origin: &'a str,
    /// The request id given to this request.
    pub request_id: &'a str,
    /// How many requests for this model came before this one.
    pub attempt: u64,
    /// The pause between video-chat progress steps.
    pub video_step: Duration,
    /// The request's `Authorization` header, as received.
    pub authorization: &'a str,
    /// The request's `Range` header, if any.
    pub range: Option<&'a str>,
    /// The request came through one of the emulator's own redirects.
    pub redirected: bool,
}

/// Every scenario, by model name, with a line on what it does (served by `GET /v1/models`).
pub const SCENARIOS: &[(&str, &str)] = &[
    ("gpt-4o-mini", "ordinary text: `You said: PROMPT`, word by word; honours n, max_tokens, stop, include_usage (any unknown model does the same)"),
    ("long", "ordinary text of max_tokens words (default 10000): for benchmarks"),
    ("video-chat", "video job: queue and progress in reasoning_content, keep-alives, pauses, CRLF, then a markdown link to an .mp4 and a .webp thumbnail"),
    ("video-chat-inline", "video job with progress in content (`Progress 76%`), as some relays do"),
    ("video-chat-fail", "video job that fails with a content policy text after HTTP 200"),
    ("video-chat-error", "video job that fails with an in-band `data: {\"error\": ...}` event"),
    ("media-links", "an answer linking media by hostile names (`../../x.mp4`, encoded slashes, a duplicate), for download tests"),
    ("tools", "two parallel tool calls whose arguments arrive split across many chunks, by index"),
    ("quirks", "unknown fields, nulls, STOP, `data:` without a space, event/id/retry lines, empty choices, comments"),
    ("json-for-stream", "a whole JSON completion even when a stream was asked for (relays that ignore `stream`)"),
    ("error-200", "HTTP 200 with a JSON error body, stream or not"),
    ("sse-as-json", "an event stream labelled `Content-Type: application/json`"),
    ("slow-keepalive", "a stream with keep-alive comments and silences (the video step pause) that completes"),
    ("fault-429-then-ok", "429 with Retry-After: 1, then success"),
    ("fault-429-long", "429 with Retry-After: 3600 (over the client's cap)"),
    ("fault-429-quota", "429 insufficient_quota (never retried)"),
    ("fault-502-then-ok", "an HTML 502 page, then success"),
    ("compressed-gzip", "`You said: PROMPT`, gzip-encoded (a stream flushed event by event, so it decodes as it arrives)"),
    ("compressed-br", "the same, brotli-encoded"),
    ("compressed-zstd", "the same, zstd-encoded"),
    ("compressed-stall", "a gzip-encoded stream that goes silent before its end (its first events must arrive decoded)"),
    ("compressed-bad", "`Content-Encoding: gzip` on a body that is not gzip"),
    ("compressed-unknown", "`Content-Encoding: snappy`, which no client decodes"),
    ("redirect-other-origin", "a 307 to the same server under another origin (`localhost`): a client must refuse it"),
    ("redirect-same-origin", "a 307 to another path of the same origin, which answers as gpt-4o-mini"),
    ("fault-503", "503 forever"),
    ("fault-524-cloudflare", "Cloudflare's 524 page (conditional comments, a Ray ID), forever"),
    ("fault-502-untitled", "an HTML 502 with comments, uppercase tags and no title, forever"),
    ("fault-401", "401 with a new-api body (Chinese message, request id in the message)"),
    ("fault-403", "403 with a new-api body"),
    ("fault-echo-key", "401 whose message echoes the Authorization header it got (badly behaved relays do)"),
    ("fault-403-quota", "403 insufficient_user_quota (new-api's exhausted quota)"),
    ("fault-400", "400 JSON error, also in answer to a stream request"),
    ("fault-midstream-error", "some content, then `data: {\"error\": ...}`"),
    ("fault-no-done", "some content, then a clean close without [DONE]"),
    ("fault-drop-then-ok", "a 200 event stream that closes before its first event, then success"),
    ("fault-reset", "some content, then the connection reset mid-chunk"),
    ("fault-invalid-json", "some content, then a data line that is not JSON"),
    ("fault-silent", "the response head, one chunk, then silence (idle timeout)"),
    ("fault-hang", "no response head at all (request timeout)"),
    ("limited-4", "ordinary text, but more than 4 requests at once are refused (429 token_concurrency_limit_reached); each takes 20 ms"),
    ("rate-limited", "ordinary text, but more than 40 requests a second per key are refused (429, Retry-After: 1)"),
    ("fault-random", "a fault chosen per request (ok, 429, HTML 502, reset mid-stream, silence, close before [DONE]), each retry asked for in 5 ms: for soak tests"),
];

/// The answer to a chat completion request.
pub fn chat(ctx: &Context<'_>) -> Answer {
    let model = ctx.body["model"].as_str().unwrap_or_default();
    if ctx.redirected {
        return text(ctx, echo_text(ctx));
    }
    match model {
        "redirect-other-origin" | "redirect-same-origin" => {
            let port = ctx.origin.rsplit(':').next().unwrap_or_default();
            let host = if model == "redirect-other-origin" { "localhost" } else { "127.0.0.1" };
            let mut a = Answer::json(307, json!({"moved": true}));
            a.headers.push((
                "Location".into(),
                format!("http://{host}:{port}/v1/redirected/chat/completions"),
            ));
            a
        }
        "long" if ctx.stream => long_stream(ctx),
        "long" => text(ctx, long_text(ctx)),
        "video-chat" => chat_video(ctx, ChatVideoEnd::Video, false),
        "video-chat-inline" => chat_video(ctx, ChatVideoEnd::Video, true),
        "video-chat-fail" => chat_video(ctx, ChatVideoEnd::PolicyFailure, false),
        "video-chat-error" => chat_video(ctx, ChatVideoEnd::ErrorEvent, false),
        "tools" => tools(ctx),
        "media-links" => {
            let o = ctx.origin;
            text(ctx, format!("Here: [a]({o}/files/../../x.mp4) ![b]({o}/files/..%2F..%2Fy.webp) [c]({o}/files/x.mp4?sig=1) {o}/files/clip.mov"))
        }
        "quirks" => quirks(ctx),
        "compressed-gzip" => crate::compress::encode(text(ctx, echo_text(ctx)), "gzip"),
        "compressed-br" => crate::compress::encode(text(ctx, echo_text(ctx)), "br"),
        "compressed-zstd" => crate::compress::encode(text(ctx, echo_text(ctx)), "zstd"),
        "compressed-stall" => {
            let mut a = text(ctx, echo_text(ctx));
            let end = a.steps.len().saturating_sub(1);
            a.steps.insert(end, Step::Hang);
            crate::compress::encode(a, "gzip")
        }
        "compressed-bad" => {
            let mut a = text(ctx, echo_text(ctx));
            a.headers.push(("Content-Encoding".into(), "gzip".into()));
            a
        }
        "compressed-unknown" => {
            let mut a = text(ctx, echo_text(ctx));
            a.headers.push(("Content-Encoding".into(), "snappy".into()));
            a
        }
        "slow-keepalive" => slow_keepalive(ctx),
        "sse-as-json" => Answer { content_type: "application/json", ..text(ctx, echo_text(ctx)) },
        "json-for-stream" => text(&Context { stream: false, ..ctx.clone() }, echo_text(ctx)),
        "error-200" => error_answer(200, "upstream_error", "上游返回错误: model overloaded", "new_api_error", ctx),
        "fault-429-then-ok" if ctx.attempt == 0 => {
            let mut a = error_answer(429, "rate_limit_exceeded", "Rate limit reached, retry in 1s", "rate_limit_error", ctx);
            a.headers.push(("Retry-After".into(), "1".into()));
            a
        }
        "fault-429-long" => {
            let mut a = error_answer(429, "rate_limit_exceeded", "Rate limit reached for today", "rate_limit_error", ctx);
            a.headers.push(("Retry-After".into(), "3600".into()));
            a
        }
        "fault-429-quota" => error_answer(429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", ctx),
        "fault-502-then-ok" if ctx.attempt == 0 => Answer {
            status: 502,
            headers: Vec::new(),
            content_type: "text/html",
            steps: vec![Step::Write(Bytes::from_static(
                b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n",
            ))],
            tail: None,
            hang_before_head: false,
            slot: None,
        },
        "fault-524-cloudflare" => html(524, CLOUDFLARE_524),
        "fault-502-untitled" => html(502, UNTITLED_502),
        "fault-503" => error_answer(503, "model_not_available", "当前分组上游负载已饱和，请稍后再试", "new_api_error", ctx),
        "fault-401" => unauthorized(ctx),
        "fault-403" => error_answer(403, "access_denied", "该令牌无权访问模型 fault-403", "new_api_error", ctx),
        "fault-echo-key" => {
            let token = ctx.authorization.strip_prefix("Bearer ").unwrap_or(ctx.authorization);
            let message = format!("Incorrect API key provided: {token}. You can find your API key at your dashboard.");
            error_answer(401, "invalid_api_key", &message, "invalid_request_error", ctx)
        }
        "fault-403-quota" => error_answer(403, "insufficient_user_quota", "用户额度不足, 剩余额度: ＄0.000000", "new_api_error", ctx),
        "fault-400" => error_answer(400, "invalid_request", "Invalid value for 'temperature': expected a number.\nSee the docs.", "invalid_request_error", ctx),
        "fault-midstream-error" => partial(ctx, Tail::ErrorEvent),
        "fault-no-done" => partial(ctx, Tail::Close),
        "fault-drop-then-ok" if ctx.stream && ctx.attempt == 0 => Answer::sse(Vec::new()),
        "fault-reset" => partial(ctx, Tail::Reset),
        "fault-invalid-json" => partial(ctx, Tail::InvalidJson),
        "fault-silent" => partial(ctx, Tail::Hang),
        "fault-hang" => Answer { hang_before_head: true, ..Answer::json(200, json!({})) },
        "fault-random" => random_fault(ctx),
        _ => text(ctx, echo_text(ctx)),
    }
}

/// The body of `GET /v1/models`.
pub fn models() -> Value {
    let data: Vec<Value> = SCENARIOS
        .iter()
        .chain(crate::video::VIDEO_MODELS)
        .map(|(id, description)| {
            json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "quickrouter-emulator", "description": description})
        })
        .collect();
    json!({"object": "list", "data": data})
}

/// new-api's 401, with the request id inside the message as new-api writes it.
pub fn unauthorized(ctx: &Context<'_>) -> Answer {
    error_answer(401, "invalid_api_key", "无效的令牌", "new_api_error", ctx)
}

/// A relay error body in new-api's shape.
pub fn error_answer(
    status: u16,
    code: &str,
    message: &str,
    kind: &str,
    ctx: &Context<'_>,
) -> Answer {
    let message = if kind == "new_api_error" {
        format!("{message} (request id: {})", ctx.request_id)
    } else {
        message.to_owned()
    };
    Answer::json(
        status,
        json!({"error": {"message": message, "type": kind, "param": "", "code": code}}),
    )
}

/// A 400 for a body that is not a chat request.
pub fn bad_request(message: &str, ctx: &Context<'_>) -> Answer {
    error_answer(
        400,
        "invalid_request",
        message,
        "invalid_request_error",
        ctx,
    )
}

fn prompt(body: &Value) -> String {
    let Some(messages) = body["messages"].as_array() else {
        return String::new();
    };
    let Some(last) = messages.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn words_in_messages(body: &Value) -> u64 {
    body["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    m["content"]
                        .as_str()
                        .map_or(1, |c| c.split_whitespace().count() as u64)
                })
                .sum()
        })
        .unwrap_or(0)
}

fn echo_text(ctx: &Context<'_>) -> String {
    format!("You said: {}", prompt(ctx.body))
}

fn long_text(ctx: &Context<'_>) -> String {
    (0..long_words(ctx) as usize)
        .map(|i| LOREM[i % LOREM.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many words `long` answers with: `max_tokens` (or `max_completion_tokens`), default 10,000.
fn long_words(ctx: &Context<'_>) -> u64 {
    ctx.body["max_tokens"]
        .as_u64()
        .or(ctx.body["max_completion_tokens"].as_u64())
        .unwrap_or(10_000)
}

const LOREM: [&str; 8] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
];

/// `long` streamed: one chunk a word, generated as it is written (100 MB cost no memory).
fn long_stream(ctx: &Context<'_>) -> Answer {
    let n = long_words(ctx);
    let head = format!(
        "data: {{\"id\":\"chatcmpl-{}\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"long\",\"system_fingerprint\":\"fp_emulator\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"",
        ctx.request_id
    );
    let steps = vec![data(
        &chunk(
            ctx,
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}]),
        ),
        false,
    )];
    let end = [
        data(
            &chunk(
                ctx,
                json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]),
            ),
            false,
        ),
        done(false),
    ];
    let words = (0..n).map(move |i| {
        let space = if i == 0 { "" } else { " " };
        let word = LOREM[(i % LOREM.len() as u64) as usize];
        Step::Write(Bytes::from(format!(
            "{head}{space}{word}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        )))
    });
    Answer {
        tail: Some(LazySteps(Box::new(words.chain(end)))),
        ..Answer::sse(steps)
    }
}

/// Split text into stream pieces: each word with the space before it.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            current.push(' ');
        }
        current.push_str(word);
        out.push(std::mem::take(&mut current));
    }
    out
}

/// Apply max_tokens (words) and stop to a text: the final text and its finish reason.
fn limit(ctx: &Context<'_>, text: &str) -> (String, &'static str) {
    let mut text = text.to_owned();
    let mut reason = "stop";
    let stops: Vec<String> = match &ctx.body["stop"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(cut) = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
    {
        text.truncate(cut);
    }
    if let Some(max) = ctx.body["max_tokens"].as_u64() {
        let words: Vec<&str> = text.split(' ').collect();
        if words.len() as u64 > max {
            text = words[..max as usize].join(" ");
            reason = "length";
        }
    }
    (text, reason)
}

fn chunk(ctx: &Context<'_>, choices: Value) -> Value {
    json!({
        "id": format!("chatcmpl-{}", ctx.request_id),
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": ctx.body["model"],
        "system_fingerprint": "fp_emulator",
        "choices": choices,
    })
}

fn data(value: &Value, crlf: bool) -> Step {
    let eol = if crlf { "\r\n" } else { "\n" };
    Step::Write(Bytes::from(format!("data: {value}{eol}{eol}")))
}

fn done(crlf: bool) -> Step {
    Step::Write(Bytes::from(if crlf {
        "data: [DONE]\r\n\r\n"
    } else {
        "data: [DONE]\n\n"
    }))
}

fn usage(ctx: &Context<'_>, completion: u64) -> Value {
    let prompt = words_in_messages(ctx.body);
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

fn wants_usage(ctx: &Context<'_>) -> bool {
    ctx.body["stream_options"]["include_usage"] == json!(true)
}

/// The end of a stream: the usage chunk (`choices: []`) if it was asked for, then `[DONE]`.
fn end_stream(
    ctx: &Context<'_>,
    mut steps: Vec<Step>,
    completion_tokens: u64,
    crlf: bool,
) -> Answer {
    if wants_usage(ctx) {
        let mut last = chunk(ctx, json!([]));
        last["usage"] = usage(ctx, completion_tokens);
        steps.push(data(&last, crlf));
    }
    steps.push(done(crlf));
    Answer::sse(steps)
}

/// An ordinary text answer (stream or not), honouring n, max_tokens, stop and include_usage.
fn text(ctx: &Context<'_>, full: String) -> Answer {
    let n = ctx.body["n"].as_u64().unwrap_or(1).clamp(1, 16);
    let choices: Vec<(String, &str)> = (0..n)
        .map(|i| {
            let t = if i == 0 {
                full.clone()
            } else {
                format!("[{i}] {full}")
            };
            limit(ctx, &t)
        })
        .collect();
    let completion_words: u64 = choices
        .iter()
        .map(|(t, _)| t.split_whitespace().count() as u64)
        .sum();
    if !ctx.stream {
        let body = json!({
            "id": format!("chatcmpl-{}", ctx.request_id),
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": ctx.body["model"],
            "system_fingerprint": "fp_emulator",
            "choices": choices.iter().enumerate().map(|(i, (t, reason))| json!({
                "index": i, "message": {"role": "assistant", "content": t}, "logprobs": null, "finish_reason": reason
            })).collect::<Vec<_>>(),
            "usage": usage(ctx, completion_words),
        });
        return Answer::json(200, body);
    }
    let mut steps = Vec::new();
    for (i, (t, reason)) in choices.iter().enumerate() {
        steps.push(data(&chunk(ctx, json!([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}])), false));
        for piece in pieces(t) {
            steps.push(data(&chunk(ctx, json!([{"index": i, "delta": {"content": piece}, "logprobs": null, "finish_reason": null}])), false));
        }
        steps.push(data(
            &chunk(
                ctx,
                json!([{"index": i, "delta": {}, "logprobs": null, "finish_reason": reason}]),
            ),
            false,
        ));
    }
    end_stream(ctx, steps, completion_words, false)
}

enum ChatVideoEnd {
    Video,
    PolicyFailure,
    ErrorEvent,
}

fn task_id(ctx: &Context<'_>) -> String {
    // Derived from the prompt, so the same prompt gives the same links.
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in prompt(ctx.body).bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("task_{:012x}", hash & 0xffff_ffff_ffff)
}

/// A video job streamed through chat as relays of that kind do: CRLF lines, keep-alive comments,
/// queue and progress notes, long pauses, then a markdown link to the video.
fn chat_video(ctx: &Context<'_>, end: ChatVideoEnd, inline: bool) -> Answer {
    let task = task_id(ctx);
    let step = ctx.video_step;
    let delta = |text: &str| {
        if inline {
            json!({"content": text})
        } else {
            json!({"reasoning_content": text})
        }
    };
    let one = |d: Value| {
        chunk(
            ctx,
            json!([{"index": 0, "delta": d, "finish_reason": null}]),
        )
    };
    let mut steps = vec![
        data(&one(json!({"role": "assistant", "content": ""})), true),
        data(&one(delta(&format!("排队中 (task id: {task})\n"))), true),
        Step::Pause(step),
        Step::Write(Bytes::from_static(b": keep-alive\r\n\r\n")),
        Step::Pause(step),
    ];
    for pct in [12, 36, 64] {
        let note = if inline {
            format!("Progress {pct}%\n")
        } else {
            format!("🏃 进度 {pct}..\n")
        };
        steps.push(data(&one(delta(&note)), true));
        steps.push(Step::Write(Bytes::from_static(b": keep-alive\r\n\r\n")));
        steps.push(Step::Pause(step));
    }
    steps.push(data(&one(delta("Progress 76%\n")), true));
    steps.push(Step::Pause(step));
    match end {
        ChatVideoEnd::Video => {
            steps.push(data(&one(delta("✅ 视频生成完成\n")), true));
            let video = format!("{}/files/{task}.mp4", ctx.origin);
            let thumb = format!("{}/files/{task}.webp", ctx.origin);
            let answer = format!("[▶ 点击查看视频]({video})\n\n![thumbnail]({thumb})");
            steps.push(data(
                &chunk(
                    ctx,
                    json!([{"index": 0, "delta": {"content": answer}, "finish_reason": "stop"}]),
                ),
                true,
            ));
        }
        ChatVideoEnd::PolicyFailure => {
            let text =
                "❌ 生成失败\n\nFailure reason: This content may violate our content policies.";
            steps.push(data(
                &chunk(
                    ctx,
                    json!([{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]),
                ),
                true,
            ));
        }
        ChatVideoEnd::ErrorEvent => {
            let error = json!({"error": {"message": format!("视频生成失败: upstream task {task} failed"), "type": "video_chat_error", "code": "generation_failed"}});
            steps.push(data(&error, true));
            return Answer::sse(steps);
        }
    }
    end_stream(ctx, steps, 1, true)
}

/// Two parallel tool calls, arguments split across chunks and interleaved by index.
fn tools(ctx: &Context<'_>) -> Answer {
    let calls = [
        (
            "call_weather_1",
            "get_weather",
            r#"{"city": "Paris", "unit": "celsius"}"#,
        ),
        ("call_time_2", "get_time", r#"{"timezone": "Europe/Paris"}"#),
    ];
    if !ctx.stream {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
            .collect();
        return Answer::json(
            200,
            json!({
                "id": format!("chatcmpl-{}", ctx.request_id), "object": "chat.completion", "created": 1_700_000_000,
                "model": "tools",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": tool_calls}, "finish_reason": "tool_calls"}],
                "usage": usage(ctx, 20),
            }),
        );
    }
    let one = |d: Value, reason: Value| {
        chunk(
            ctx,
            json!([{"index": 0, "delta": d, "finish_reason": reason}]),
        )
    };
    let mut steps = vec![data(
        &one(json!({"role": "assistant", "content": null}), Value::Null),
        false,
    )];
    for (index, (id, name, _)) in calls.iter().enumerate() {
        steps.push(data(&one(json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}), Value::Null), false));
    }
    // Interleave 5-byte slices of each call's arguments.
    let slices: Vec<Vec<String>> = calls
        .iter()
        .map(|(_, _, args)| {
            args.as_bytes()
                .chunks(5)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect()
        })
        .collect();
    let longest = slices.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for (index, parts) in slices.iter().enumerate() {
            if let Some(part) = parts.get(i) {
                steps.push(data(
                    &one(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": part}}]}),
                        Value::Null,
                    ),
                    false,
                ));
            }
        }
    }
    steps.push(data(&one(json!({}), json!("tool_calls")), false));
    end_stream(ctx, steps, 20, false)
}

/// Everything a lenient client must tolerate, in one stream.
fn quirks(ctx: &Context<'_>) -> Answer {
    if !ctx.stream {
        return Answer::json(
            200,
            json!({
                "id": null, "object": "chat.completion", "created": null, "model": "quirks", "provider": "Emulated",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "quirky answer", "tool_calls": null, "reasoning_content": "thinking", "annotations": []}, "finish_reason": "STOP", "native_finish_reason": "STOP"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5},
            }),
        );
    }
    let text = |v: Value| Step::Write(Bytes::from(format!("data:{v}\n\n")));
    let steps = vec![
        Step::Write(Bytes::from_static(b"retry: 3000\n\n")),
        Step::Write(Bytes::from_static(b": OPENROUTER PROCESSING\n\n")),
        Step::Write(Bytes::from_static(b"event: message\nid: 1\n")),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": null, "model": "quirks", "provider": "Emulated",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": null, "tool_calls": null, "reasoning": "hmm "}, "finish_reason": null, "logprobs": null}]}),
        ),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": 1, "model": "quirks", "choices": []}),
        ),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": 1, "model": "quirks", "choices": null}),
        ),
        Step::Write(Bytes::from_static(b"id: 2\n")),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": 1, "model": "quirks", "x_groq": {"id": "g"},
            "choices": [{"index": 0, "delta": {"content": "quirky ", "reasoning_content": null, "audio": null}, "finish_reason": null}]}),
        ),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": 1, "model": "quirks",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "answer"}, "finish_reason": null}]}),
        ),
        text(
            json!({"id": "q1", "object": "chat.completion.chunk", "created": 1, "model": "quirks",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "STOP", "native_finish_reason": "STOP"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
        ),
        Step::Write(Bytes::from_static(b"event: ping\n\n")),
        Step::Write(Bytes::from_static(b"data:[DONE]\n\n")),
    ];
    Answer::sse(steps)
}

fn slow_keepalive(ctx: &Context<'_>) -> Answer {
    let mut steps = Vec::new();
    let one = |content: &str| {
        chunk(
            ctx,
            json!([{"index": 0, "delta": {"content": content}, "finish_reason": null}]),
        )
    };
    for (i, word) in ["still", " here", " at", " the", " end"].iter().enumerate() {
        if i > 0 {
            for _ in 0..3 {
                steps.push(Step::Pause(ctx.video_step));
                steps.push(Step::Write(Bytes::from_static(b": keep-alive\n\n")));
            }
        }
        steps.push(data(&one(word), false));
    }
    steps.push(data(
        &chunk(
            ctx,
            json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        ),
        false,
    ));
    steps.push(done(false));
    Answer::sse(steps)
}

enum Tail {
    ErrorEvent,
    Close,
    Reset,
    InvalidJson,
    Hang,
}

/// One of the faults, picked from the request id's number (deterministic for a given order).
fn random_fault(ctx: &Context<'_>) -> Answer {
    let n: u64 = ctx
        .request_id
        .trim_end_matches("emu")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let quick = |mut a: Answer| {
        a.headers.push(("retry-after-ms".into(), "5".into()));
        a
    };
    match n % 6 {
        0 => text(ctx, echo_text(ctx)),
        1 => quick(error_answer(
            429,
            "rate_limit_exceeded",
            "slow down",
            "rate_limit_error",
            ctx,
        )),
        2 => quick(html(
            502,
            "<html><head><title>502 Bad Gateway</title></head></html>",
        )),
        3 => partial(ctx, Tail::Reset),
        4 => partial(ctx, Tail::Hang),
        _ => partial(ctx, Tail::Close),
    }
}

/// A stream that starts well (role + "partial answer") and then breaks as `tail` says.
fn partial(ctx: &Context<'_>, tail: Tail) -> Answer {
    if !ctx.stream {
        return match tail {
            Tail::Hang => Answer {
                steps: vec![Step::Hang],
                ..Answer::json(200, json!({}))
            },
            Tail::Reset => Answer {
                steps: vec![
                    Step::Write(Bytes::from_static(b"{\"id\":\"x\",")),
                    Step::Reset,
                ],
                ..Answer::json(200, json!({}))
            },
            _ => error_answer(
                500,
                "internal_error",
                "stream-only scenario asked without stream",
                "server_error",
                ctx,
            ),
        };
    }
    let one = |content: &str| {
        chunk(
            ctx,
            json!([{"index": 0, "delta": {"content": content}, "finish_reason": null}]),
        )
    };
    let mut steps = vec![
        data(
            &chunk(
                ctx,
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            ),
            false,
        ),
        data(&one("partial"), false),
        data(&one(" answer"), false),
    ];
    match tail {
        Tail::ErrorEvent => steps.push(data(&json!({"error": {"message": "上游错误: upstream connection lost\nplease retry", "type": "upstream_error", "code": "upstream_error"}}), false)),
        Tail::Close => {}
        Tail::Reset => {
            steps.push(Step::Write(Bytes::from_static(b"data: {\"id\":\"chatcmpl-x\",\"object\":\"chat.comp")));
            // Let what was written reach the client before the connection breaks.
            steps.push(Step::Pause(Duration::from_millis(30)));
            steps.push(Step::Reset);
        }
        Tail::InvalidJson => steps.push(Step::Write(Bytes::from_static(b"data: {\"id\": \"x\", \"choices\": [{\"delta\": {\"content\": \"oops\"}\n\n"))),
        Tail::Hang => steps.push(Step::Hang),
    }
    Answer::sse(steps)
}

fn html(status: u16, page: &'static str) -> Answer {
    // (used by the HTML fault scenarios and `fault-random`)
    Answer {
        status,
        headers: Vec::new(),
        content_type: "text/html; charset=UTF-8",
        steps: vec![Step::Write(Bytes::from_static(page.as_bytes()))],
        tail: None,
        hang_before_head: false,
        slot: None,
    }
}

const CLOUDFLARE_524: &str = r#"<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<title>api.quickrouter.ai | 524: A timeout occurred</title>
<meta charset="UTF-8" />
<style>body{margin:0}</style>
</head>
<body>
<div id="cf-wrapper">
<h1 class="inline-block"><span>A timeout occurred</span> <span class="code-label">Error code 524</span></h1>
<p>The origin web server timed out responding to this request.</p>
<p class="text-13"><span>Cloudflare Ray ID: <strong class="font-semibold">8e2f1c3a9b7d4e21</strong></span></p>
</div>
</body>
</html>
"#;

const UNTITLED_502: &str = "<!-- upstream: new-api -->\r\n<HTML><BODY BGCOLOR=\"white\">\r\n<H1 CLASS=\"err\">Bad Gateway: upstream &quot;veo&quot; unreachable</H1>\r\n<P>Try again later.</P>\r\n</BODY></HTML>\r\n";

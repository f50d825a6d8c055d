//! The video task routes: QuickRouter's unified API (`POST /video/create`, `GET /video/query?id=`)
//! and the OpenAI-format routes (`POST /videos`, `GET /videos/{id}`, `GET /videos/{id}/content`).
//!
//! A task's state advances with time: queued for one step (the `video_step` pause), then three
//! steps of progress, then done. The model picks the behaviour ([`VIDEO_MODELS`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};

use crate::scenario::{error_answer, Answer, Context, Step};
use crate::server::media_bytes;

/// Video models with a behaviour of their own (any other model succeeds normally).
pub const VIDEO_MODELS: &[(&str, &str)] = &[
    (
        "veo3.1-fast",
        "a video task that queues, progresses and completes (any unnamed model does the same)",
    ),
    (
        "video-fail",
        "a task that ends `failed` with a content-policy reason",
    ),
    ("video-cancel", "a task that ends `cancelled`"),
    (
        "video-error-done",
        "a task that completes with a `video_url` and an upstream `error_message` (the URL wins)",
    ),
    (
        "video-odd-status",
        "a task whose status is `rendering` (unknown) until it completes",
    ),
    (
        "video-429",
        "a create answered 429 (Retry-After: 1) once, then accepted",
    ),
    ("video-500", "a create answered 500: never to be sent again"),
    (
        "video-hang",
        "a create that is never answered (the client times out after sending it)",
    ),
    (
        "video-cut",
        "a video whose download breaks off mid-file once, then honours Range",
    ),
    (
        "video-json-content",
        "OpenAI surface: `/content` answers JSON `{url}` naming the file",
    ),
    (
        "video-redirect",
        "the video URL redirects (302) to the file on another origin (`localhost` for `127.0.0.1`)",
    ),
    (
        "video-content-redirect",
        "OpenAI surface: `/content` redirects (302) to the file on another origin",
    ),
    (
        "video-expired",
        "the video URL answers 403 with an HTML \"link expired\" page",
    ),
    (
        "video-poll-after",
        "OpenAI surface: polls answered with `openai-poll-after-ms: 50`",
    ),
];

/// Which surface a task was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Unified,
    OpenAi,
}

#[derive(Debug, Clone)]
struct Task {
    model: String,
    surface: Surface,
    created: Instant,
    created_unix: u64,
}

/// Every task the emulator has accepted, and per-file download counts.
#[derive(Debug, Default)]
pub struct Tasks {
    tasks: Mutex<HashMap<String, Task>>,
    creates: Mutex<HashMap<String, u64>>,
    fetches: Mutex<HashMap<String, u64>>,
}

impl Tasks {
    /// How many creates each model saw.
    pub fn creates(&self, model: &str) -> u64 {
        self.creates
            .lock()
            .unwrap()
            .get(model)
            .copied()
            .unwrap_or(0)
    }
}

enum Phase {
    Queued,
    Running(u8),
    Done,
}

fn phase(task: &Task, ctx: &Context<'_>) -> Phase {
    let step = ctx.video_step.as_secs_f64().max(0.001);
    let steps = task.created.elapsed().as_secs_f64() / step;
    if steps < 1.0 {
        Phase::Queued
    } else if steps < 4.0 {
        Phase::Running(((steps - 1.0) / 3.0 * 100.0).clamp(1.0, 99.0) as u8)
    } else {
        Phase::Done
    }
}

/// Answer a video route, or `None` when the path is not one.
pub fn route(
    tasks: &Tasks,
    method: &str,
    path: &str,
    query: &str,
    ctx: &Context<'_>,
) -> Option<Answer> {
    let rest = strip_prefix(path)?;
    let answer = match (method, rest.as_slice()) {
        ("POST", ["video", "create"]) => create(tasks, Surface::Unified, ctx),
        ("GET", ["video", "query"]) => {
            let id = query_param(query, "id").unwrap_or_default();
            query_task(tasks, &id, Surface::Unified, ctx)
        }
        ("POST", ["videos"]) => create(tasks, Surface::OpenAi, ctx),
        ("GET", ["videos", id]) => query_task(tasks, &decode(id), Surface::OpenAi, ctx),
        ("GET", ["videos", id, "content"]) => content(tasks, &decode(id), query, ctx),
        _ => return None,
    };
    Some(answer)
}

/// Whether `path` is one of the video routes (to answer 401 there without a key).
pub fn route_exists(path: &str) -> bool {
    strip_prefix(path).is_some()
}

/// The path's segments after the `video`/`videos` root, whatever prefix came before it.
fn strip_prefix(path: &str) -> Option<Vec<&str>> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at = segments
        .iter()
        .position(|s| *s == "video" || *s == "videos")?;
    Some(segments[at..].to_vec())
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unix_now() -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_secs(), now.as_millis() as u64)
}

fn create(tasks: &Tasks, surface: Surface, ctx: &Context<'_>) -> Answer {
    let model = ctx.body["model"].as_str().unwrap_or_default().to_owned();
    if model.is_empty()
        || ctx.body["prompt"]
            .as_str()
            .is_none_or(|p| p.trim().is_empty())
    {
        return error_answer(
            400,
            "invalid_request",
            "model and prompt are required",
            "invalid_request_error",
            ctx,
        );
    }
    let seen = {
        let mut creates = tasks.creates.lock().unwrap();
        let count = creates.entry(model.clone()).or_default();
        *count += 1;
        *count - 1
    };
    match model.as_str() {
        "video-429" if seen == 0 => {
            let mut answer = error_answer(
                429,
                "rate_limit_exceeded",
                "too many video tasks; try again shortly",
                "rate_limit_error",
                ctx,
            );
            answer.headers.push(("Retry-After".into(), "1".into()));
            return answer;
        }
        "video-hang" => {
            let mut answer = Answer::json(200, json!({}));
            answer.hang_before_head = true;
            return answer;
        }
        "video-500" => {
            return error_answer(
                500,
                "upstream_error",
                "upstream failed after accepting the task",
                "new_api_error",
                ctx,
            )
        }
        _ => {}
    }
    let (secs, millis) = unix_now();
    let n = tasks.tasks.lock().unwrap().len() + 1;
    let id = match surface {
        Surface::Unified => format!("{model}:{secs}-task{n:04}"),
        Surface::OpenAi => format!("video_{secs}{n:04}"),
    };
    let task = Task {
        model: model.clone(),
        surface,
        created: Instant::now(),
        created_unix: secs,
    };
    tasks.tasks.lock().unwrap().insert(id.clone(), task.clone());
    let body = match surface {
        Surface::Unified => {
            json!({"id": id, "status": "pending", "status_update_time": millis})
        }
        Surface::OpenAi => openai_object(&id, &task, Phase::Queued, ctx),
    };
    Answer::json(200, body)
}

fn query_task(tasks: &Tasks, id: &str, surface: Surface, ctx: &Context<'_>) -> Answer {
    let task = tasks.tasks.lock().unwrap().get(id).cloned();
    let Some(task) = task.filter(|t| t.surface == surface) else {
        return error_answer(
            404,
            "task_not_exist",
            &format!("task {id} does not exist"),
            "new_api_error",
            ctx,
        );
    };
    let phase = phase(&task, ctx);
    match surface {
        Surface::Unified => Answer::json(200, unified_object(id, &task, phase, ctx)),
        Surface::OpenAi => {
            let mut answer = Answer::json(200, openai_object(id, &task, phase, ctx));
            if task.model == "video-poll-after" {
                answer
                    .headers
                    .push(("openai-poll-after-ms".into(), "50".into()));
            }
            answer
        }
    }
}

fn file_url(ctx: &Context<'_>, id: &str, model: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match model {
        "video-cut" => format!("{}/files/cut/{name}.mp4", ctx.origin),
        "video-redirect" => format!("{}/files/redirect/{name}.mp4", ctx.origin),
        "video-expired" => format!("{}/files/expired/{name}.mp4", ctx.origin),
        _ => format!("{}/files/{name}.mp4", ctx.origin),
    }
}

fn ends_badly(model: &str) -> Option<(&'static str, &'static str)> {
    match model {
        "video-fail" => Some((
            "failed",
            "The prompt was blocked by the upstream's content policy",
        )),
        "video-cancel" => Some(("cancelled", "The task was cancelled upstream")),
        _ => None,
    }
}

fn unified_object(id: &str, task: &Task, phase: Phase, ctx: &Context<'_>) -> Value {
    let (_, millis) = unix_now();
    let odd = task.model == "video-odd-status";
    let (status, progress, url, error) = match phase {
        Phase::Queued => ("queued", 0.0, None, None),
        Phase::Running(p) => (
            if odd { "rendering" } else { "processing" },
            f64::from(p) / 100.0,
            None,
            None,
        ),
        Phase::Done => match ends_badly(&task.model) {
            Some((status, reason)) => (status, 1.0, None, Some(reason)),
            None => (
                "completed",
                1.0,
                Some(file_url(ctx, id, &task.model)),
                (task.model == "video-error-done").then_some("upstream retry 1 failed: overloaded"),
            ),
        },
    };
    json!({
        "id": id,
        "status": status,
        "video_url": url,
        "enhanced_prompt": null,
        "status_update_time": millis,
        "detail": {
            "status": status,
            "video_url": url,
            "error_message": error,
            "pending_info": {"progress_pct": progress},
            "model": task.model,
        },
    })
}

fn openai_object(id: &str, task: &Task, phase: Phase, ctx: &Context<'_>) -> Value {
    let _ = ctx;
    let (status, progress, error) = match phase {
        Phase::Queued => ("queued", 0, None),
        Phase::Running(p) => ("in_progress", p, None),
        Phase::Done => match ends_badly(&task.model) {
            Some((status, reason)) => (
                status,
                100,
                Some(json!({"code": "content_policy_violation", "message": reason})),
            ),
            None => ("completed", 100, None),
        },
    };
    let done = matches!(status, "completed" | "failed" | "cancelled");
    json!({
        "id": id,
        "object": "video",
        "model": task.model,
        "status": status,
        "progress": progress,
        "created_at": task.created_unix,
        "completed_at": if done { Some(task.created_unix + 4) } else { None },
        "expires_at": if done { Some(task.created_unix + 86_400) } else { None },
        "seconds": "8",
        "size": "1280x720",
        "error": error,
        "task_id": id,
        "metadata": {},
    })
}

fn content(tasks: &Tasks, id: &str, query: &str, ctx: &Context<'_>) -> Answer {
    let task = tasks.tasks.lock().unwrap().get(id).cloned();
    let Some(task) = task.filter(|t| t.surface == Surface::OpenAi) else {
        return error_answer(
            404,
            "not_found",
            &format!("video {id} not found"),
            "invalid_request_error",
            ctx,
        );
    };
    if !matches!(phase(&task, ctx), Phase::Done) || ends_badly(&task.model).is_some() {
        return error_answer(
            400,
            "video_not_ready",
            &format!("video {id} is not completed yet"),
            "invalid_request_error",
            ctx,
        );
    }
    let url = file_url(ctx, id, &task.model);
    if task.model == "video-json-content" {
        return Answer::json(200, json!({"url": url}));
    }
    if task.model == "video-content-redirect" {
        return redirect_elsewhere(ctx.origin, url.rsplit('/').next().unwrap_or_default());
    }
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let thumbnail = query_param(query, "variant").as_deref() == Some("thumbnail");
    let name = if thumbnail {
        name.replace(".mp4", ".webp")
    } else {
        name
    };
    media(
        tasks,
        &format!(
            "{}{name}",
            if task.model == "video-cut" {
                "cut/"
            } else {
                ""
            }
        ),
        ctx.range,
        ctx.origin,
    )
}

/// A 302 to `/files/NAME` on another origin: the same server under the name `localhost`.
fn redirect_elsewhere(origin: &str, name: &str) -> Answer {
    let port = origin.rsplit(':').next().unwrap_or_default();
    Answer {
        status: 302,
        headers: vec![(
            "Location".into(),
            format!("http://localhost:{port}/files/{name}"),
        )],
        content_type: "text/plain",
        steps: Vec::new(),
        tail: None,
        hang_before_head: false,
        slot: None,
    }
}

/// Serve `/files/…`: the media bytes (honouring `Range`), a redirect, a cut, or an expired link.
pub fn media(tasks: &Tasks, path: &str, range: Option<&str>, origin: &str) -> Answer {
    let name = path.rsplit('/').next().unwrap_or_default();
    let kind = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let Some((content_type, bytes)) = media_bytes(name) else {
        return Answer {
            status: 404,
            headers: Vec::new(),
            content_type: "text/plain",
            steps: vec![Step::Write(Bytes::from_static(b"not found"))],
            tail: None,
            hang_before_head: false,
            slot: None,
        };
    };
    match kind {
        "redirect" => return redirect_elsewhere(origin, name),
        "expired" => {
            return Answer {
                status: 403,
                headers: Vec::new(),
                content_type: "text/html",
                steps: vec![Step::Write(Bytes::from_static(
                    b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Link expired</h1><p>This signed URL has expired.</p></body></html>",
                ))],
                tail: None,
                hang_before_head: false,
                slot: None,
            }
        }
        _ => {}
    }
    let total = bytes.len();
    let start = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|s| *s < total);
    let fetches = {
        let mut fetches = tasks.fetches.lock().unwrap();
        let count = fetches.entry(path.to_owned()).or_default();
        *count += 1;
        *count
    };
    let body = Bytes::from(bytes);
    let mut headers = vec![("Accept-Ranges".into(), "bytes".into())];
    let (status, slice) = match start {
        Some(s) => {
            headers.push((
                "Content-Range".into(),
                format!("bytes {s}-{}/{total}", total - 1),
            ));
            (206, body.slice(s..))
        }
        None => (200, body),
    };
    headers.push(("Content-Length".into(), slice.len().to_string()));
    let mut steps = Vec::new();
    if kind == "cut" && fetches == 1 {
        // The first fetch breaks off two fifths in.
        let cut = slice.len() * 2 / 5;
        steps.push(Step::Write(slice.slice(..cut)));
        // Let the bytes reach the wire before the connection is cut.
        steps.push(Step::Pause(std::time::Duration::from_millis(100)));
        steps.push(Step::Reset);
    } else {
        steps.push(Step::Write(slice));
    }
    Answer {
        status,
        headers,
        content_type,
        steps,
        tail: None,
        hang_before_head: false,
        slot: None,
    }
}

/// The fields of a `multipart/form-data` body (`params` is what follows the media type in
/// `Content-Type`): text parts as strings, file parts as `{"file_name", "content_type", "size"}`.
pub fn multipart_fields(params: &str, body: &[u8]) -> Value {
    let Some(boundary) = params
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
    else {
        return Value::Null;
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut fields = serde_json::Map::new();
    let text = body;
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        parts.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    for part in parts.into_iter().skip(1) {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let mut value = &part[split + 4..];
        value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let disposition = head.lines().next().unwrap_or_default();
        let attribute = |name: &str| {
            disposition
                .split(';')
                .filter_map(|a| a.trim().strip_prefix(&format!("{name}=")))
                .next()
                .map(|v| v.trim_matches('"').to_owned())
        };
        let Some(name) = attribute("name") else {
            continue;
        };
        let field = match attribute("filename") {
            Some(file_name) => json!({
                "file_name": file_name,
                "content_type": head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Type:").or_else(|| l.strip_prefix("content-type:")))
                    .map(str::trim),
                "size": value.len(),
            }),
            None => Value::String(String::from_utf8_lossy(value).into_owned()),
        };
        fields.insert(name, field);
    }
    Value::Object(fields)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

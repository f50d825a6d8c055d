//! [`VideoTask`]: one normalised view of a video task, whichever surface reported it.

use std::time::Duration;

use bytes::Bytes;
use quickrouter_types::VideoStatus;
use serde_json::Value;

use super::VideoApi;

/// A video task as the relay last reported it, normalised: the same fields whether it came from
/// the unified task API, the OpenAI-format `/videos` routes or a chat stream. The object as
/// received stays in [`raw`](Self::raw).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VideoTask {
    /// The task id (the unified API's `veo3.1-fast:1770350082-…`, OpenAI's `video_…`).
    pub id: String,
    /// The surface the task belongs to.
    pub api: VideoApi,
    /// The model, when the relay named it.
    pub model: Option<String>,
    /// The status, parsed (unknown statuses are kept in `Other` and count as running).
    pub status: VideoStatus,
    /// The status as the relay wrote it (`-` when it wrote none).
    pub status_text: String,
    /// Progress from 0 to 100: `progress`, the upstream's `progress_pct` (0-1), or a percentage
    /// in prose; 100 once completed.
    pub progress: Option<u8>,
    /// Where the video is, once done. For the OpenAI surface with no URL of its own, its
    /// `{base}/videos/{id}/content` URL.
    pub video_url: Option<String>,
    /// A thumbnail, when the relay gave one.
    pub thumbnail_url: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<VideoTaskError>,
    /// The object as received (for `--output json` and fields this type does not name).
    pub raw: Bytes,
    /// The request id of the response that carried it.
    pub request_id: Option<String>,
    /// The relay's `openai-poll-after-ms`, when it sent one.
    pub poll_after: Option<Duration>,
}

/// Why a video task failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTaskError {
    /// The relay's code, if any.
    pub code: Option<String>,
    /// The relay's reason.
    pub message: String,
}

impl std::fmt::Display for VideoTaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        Ok(())
    }
}

impl VideoTask {
    /// Whether the task is finished, well or not.
    pub fn is_terminal(&self) -> bool {
        self.is_success() || self.is_failure()
    }

    /// Whether the video is ready. A unified task that says `completed` without a URL yet is
    /// not: its URL follows in a later poll.
    pub fn is_success(&self) -> bool {
        self.status.is_success() && (self.video_url.is_some() || self.api == VideoApi::OpenAi)
    }

    /// Whether it ended without a video.
    pub fn is_failure(&self) -> bool {
        self.status.is_failure()
    }

    /// The object as received, parsed.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or(Value::Null)
    }

    /// Read a task from a relay's JSON object (`None` when it names no id). `content_url` gives
    /// the OpenAI surface's content URL for an id, used when the object names no URL of its own.
    pub fn from_json(
        api: VideoApi,
        raw: Bytes,
        content_url: impl Fn(&str) -> String,
    ) -> Option<VideoTask> {
        let value: Value = serde_json::from_slice(&raw).ok()?;
        // Some relays wrap the task: `{"code": 0, "data": {...}}`.
        let object = match value.get("data") {
            Some(inner @ Value::Object(_)) if text(&value, &["id", "task_id"]).is_none() => inner,
            _ => &value,
        };
        let detail = object.get("detail").filter(|d| d.is_object());
        let id = text(object, &["id", "task_id"])
            .or_else(|| detail.and_then(|d| text(d, &["id", "task_id"])))?;
        let status_text = text(object, &["status", "state"])
            .or_else(|| detail.and_then(|d| text(d, &["status", "state"])));
        let status = VideoStatus::parse(status_text.as_deref().unwrap_or_default());
        let mut video_url = url(object, &["video_url", "url", "output_url"])
            .or_else(|| {
                [
                    "/metadata/url",
                    "/metadata/video_url",
                    "/output/video_url",
                    "/video/url",
                ]
                .iter()
                .find_map(|p| object.pointer(p).and_then(non_empty))
            })
            .or_else(|| detail.and_then(|d| url(d, &["video_url", "url"])));
        if api == VideoApi::OpenAi && video_url.is_none() && status.is_success() {
            video_url = Some(content_url(&id));
        }
        let thumbnail_url = url(object, &["thumbnail_url", "cover_url"])
            .or_else(|| detail.and_then(|d| url(d, &["thumbnail_url"])));
        let error = if status.is_success() && video_url.is_some() {
            // A retry upstream that later succeeded leaves its message behind: the URL wins.
            None
        } else {
            error_of(object).or_else(|| detail.and_then(error_of))
        };
        let progress = if status.is_success() {
            Some(100)
        } else {
            progress_of(object).or_else(|| detail.and_then(progress_of))
        };
        Some(VideoTask {
            id,
            api,
            model: text(object, &["model"]),
            status,
            status_text: status_text.unwrap_or_else(|| "-".to_owned()),
            progress,
            video_url,
            thumbnail_url,
            error,
            raw,
            request_id: None,
            poll_after: None,
        })
    }
}

fn non_empty(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text(object: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| object.get(*k).and_then(non_empty))
}

/// An http(s) URL, or a path on the API's own host (`/files/x.mp4`, resolved by the caller).
fn url(object: &Value, keys: &[&str]) -> Option<String> {
    text(object, keys)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://") || u.starts_with('/'))
}

fn error_of(object: &Value) -> Option<VideoTaskError> {
    match object.get("error") {
        Some(Value::Object(e)) => {
            let message = ["message", "msg", "reason"]
                .iter()
                .find_map(|k| e.get(*k).and_then(non_empty));
            let code = e.get("code").and_then(non_empty);
            if message.is_some() || code.is_some() {
                return Some(VideoTaskError {
                    message: message.unwrap_or_else(|| "the generation failed".to_owned()),
                    code,
                });
            }
        }
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Some(VideoTaskError {
                code: None,
                message: s.trim().to_owned(),
            })
        }
        _ => {}
    }
    text(
        object,
        &["error_message", "fail_reason", "failure_reason", "reason"],
    )
    .map(|message| VideoTaskError {
        code: None,
        message,
    })
}

fn progress_of(object: &Value) -> Option<u8> {
    let percent = |v: f64| Some(v.clamp(0.0, 100.0).round() as u8);
    if let Some(p) = object.get("progress") {
        match p {
            Value::Number(n) => return n.as_f64().and_then(percent),
            Value::String(s) => {
                if let Ok(v) = s.trim().trim_end_matches('%').trim().parse::<f64>() {
                    return percent(v);
                }
            }
            _ => {}
        }
    }
    if let Some(pct) = object
        .pointer("/pending_info/progress_pct")
        .or_else(|| object.get("progress_pct"))
        .and_then(Value::as_f64)
    {
        // A fraction (0.93); some upstreams already send a percentage.
        return percent(if pct <= 1.0 { pct * 100.0 } else { pct });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(api: VideoApi, json: &str) -> VideoTask {
        VideoTask::from_json(api, Bytes::from(json.to_owned()), |id| {
            format!("http://api.test/v1/videos/{id}/content")
        })
        .unwrap()
    }

    #[test]
    fn unified_records_in_every_form() {
        let t = task(
            VideoApi::Unified,
            r#"{"id":"veo3.1-fast:1-abc","status":"pending","status_update_time":1762010645686}"#,
        );
        assert_eq!(
            (t.id.as_str(), t.status_text.as_str()),
            ("veo3.1-fast:1-abc", "pending")
        );
        assert!(!t.is_terminal());
        let t = task(
            VideoApi::Unified,
            r#"{"id":"x","status":"processing","video_url":null,"detail":{"pending_info":{"progress_pct":0.93}}}"#,
        );
        assert_eq!(t.progress, Some(93));
        let t = task(
            VideoApi::Unified,
            r#"{"id":"x","status":"completed","video_url":"https://cdn.test/v.mp4","detail":{"error_message":"upstream retry"}}"#,
        );
        assert!(t.is_success());
        assert_eq!(t.error, None);
        assert_eq!(t.progress, Some(100));
        let t = task(
            VideoApi::Unified,
            r#"{"id":"x","status":"failed","detail":{"error_message":"policy"}}"#,
        );
        assert!(t.is_failure());
        assert_eq!(t.error.unwrap().message, "policy");
        let t = task(VideoApi::Unified, r#"{"id":"x","status":"rendering"}"#);
        assert!(!t.is_terminal());
        assert_eq!(t.status_text, "rendering");
        let t = task(VideoApi::Unified, r#"{"id":"x","status":"completed"}"#);
        assert!(!t.is_success(), "completed without a URL is not done yet");
        let t = task(
            VideoApi::Unified,
            r#"{"id":"x","status":"completed","video_url":"/files/x.mp4"}"#,
        );
        assert_eq!(
            t.video_url.as_deref(),
            Some("/files/x.mp4"),
            "resolved by Videos"
        );
    }

    #[test]
    fn openai_objects() {
        let t = task(
            VideoApi::OpenAi,
            r#"{"id":"video_1","object":"video","status":"in_progress","progress":45}"#,
        );
        assert_eq!(t.progress, Some(45));
        assert_eq!(t.video_url, None);
        let t = task(VideoApi::OpenAi, r#"{"id":"video_1","status":"completed"}"#);
        assert_eq!(
            t.video_url.as_deref(),
            Some("http://api.test/v1/videos/video_1/content")
        );
        let t = task(
            VideoApi::OpenAi,
            r#"{"id":"video_1","status":"failed","error":{"code":"moderation","message":"blocked"}}"#,
        );
        assert_eq!(t.error.unwrap().to_string(), "blocked (code moderation)");
        assert!(VideoTask::from_json(
            VideoApi::OpenAi,
            Bytes::from_static(b"{}"),
            |_| String::new()
        )
        .is_none());
    }
}

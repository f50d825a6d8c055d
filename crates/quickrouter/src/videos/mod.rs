//! `client.videos()`: video generation on every surface QuickRouter serves.
//!
//! - [`VideoApi::Unified`] (the default): QuickRouter's task API, `POST {base}/video/create` then
//!   `GET {base}/video/query?id=ID`.
//! - [`VideoApi::OpenAi`]: the OpenAI-format routes relays keep for other models,
//!   `POST {base}/videos`, `GET {base}/videos/{id}`, `GET {base}/videos/{id}/content`.
//! - [`VideoApi::Chat`]: video models served through chat; the job lives in its stream, so it is
//!   sent with [`Client::chat`] ([`VideoRequest::to_chat_request`]) and read with
//!   [`chat::video`](crate::chat::video).
//!
//! Whatever the surface, a task reads as one [`VideoTask`]. A create may be billed, so it is
//! never sent twice by accident: it is retried only after a 429 or a connection that failed
//! before the request was written; any other failure after sending is
//! [`Error::Unconfirmed`](crate::Error::Unconfirmed).
//!
//! ```no_run
//! # async fn run() -> Result<(), quickrouter::Error> {
//! use futures_util::StreamExt;
//! use quickrouter::videos::{VideoRequest, WaitOptions};
//!
//! let client = quickrouter::Client::from_env()?;
//! let task = client.videos().create(&VideoRequest::new("veo3.1-fast", "a cat surfing")).await?;
//! let mut updates = client.videos().wait(&task.id, WaitOptions::default());
//! let mut last = task;
//! while let Some(update) = updates.next().await {
//!     last = update?;
//!     println!("{} {:?}", last.status_text, last.progress);
//! }
//! if last.is_success() {
//!     let path = client.videos().download(&last, "videos".as_ref()).await?;
//!     println!("saved {}", path.display());
//! }
//! # Ok(()) }
//! ```

mod task;

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_core::Stream;
use quickrouter_transport::{Part, PartValue, Request, RequestBody, Resend};
use quickrouter_types::{
    ChatMessage, ContentPart, CreateChatCompletionRequest, CreateVideoRequest,
    UnifiedVideoCreateRequest,
};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

pub use task::{VideoTask, VideoTaskError};

use crate::client::{Client, RequestOptions};
use crate::download::{self, Progress, Source};
use crate::Error;

/// Which video surface a task or request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum VideoApi {
    /// QuickRouter's unified task API (`/video/create`, `/video/query`).
    #[default]
    Unified,
    /// The OpenAI-format `/videos` routes.
    OpenAi,
    /// Video over chat (`/chat/completions`, progress in the stream).
    Chat,
}

impl VideoApi {
    /// `unified`, `openai` or `chat`.
    pub fn as_str(&self) -> &'static str {
        match self {
            VideoApi::Unified => "unified",
            VideoApi::OpenAi => "openai",
            VideoApi::Chat => "chat",
        }
    }
}

impl fmt::Display for VideoApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VideoApi {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "unified" => Ok(VideoApi::Unified),
            "openai" => Ok(VideoApi::OpenAi),
            "chat" => Ok(VideoApi::Chat),
            other => Err(format!(
                "unknown video API {other:?}: expected unified, openai or chat"
            )),
        }
    }
}

/// A reference image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageInput {
    /// A URL, sent as given.
    Url(String),
    /// A local file: a `data:` URL for the unified API and chat, a multipart `input_reference`
    /// part for the OpenAI surface.
    File(PathBuf),
}

impl ImageInput {
    /// A URL (`http:`, `https:`, `data:`) as a URL, anything else as a file path.
    pub fn parse(value: &str) -> Self {
        let lower = value.to_ascii_lowercase();
        if ["http://", "https://", "data:"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            ImageInput::Url(value.to_owned())
        } else {
            ImageInput::File(PathBuf::from(value))
        }
    }

    /// The image as a URL: itself, or the file as a `data:` URL.
    pub fn to_url(&self) -> Result<String, Error> {
        match self {
            ImageInput::Url(url) => Ok(url.clone()),
            ImageInput::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                Ok(format!(
                    "data:{};base64,{}",
                    quickrouter_transport::request::guess_content_type(path),
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ))
            }
        }
    }
}

/// A video to make, said once for every surface.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct VideoRequest {
    /// The model (`veo3.1-fast`, …).
    pub model: String,
    /// What to make.
    pub prompt: String,
    /// Reference images.
    pub images: Vec<ImageInput>,
    /// `16:9` or `9:16`.
    pub aspect_ratio: Option<String>,
    /// `WIDTHxHEIGHT` (or a relay's own size names).
    pub size: Option<String>,
    /// Length in seconds (the unified API's `duration`, the OpenAI surface's `seconds` string).
    pub seconds: Option<u32>,
    /// Fields sent as given, under the typed ones (unknown fields pass through).
    pub extra: Map<String, Value>,
}

impl VideoRequest {
    /// A request for `model` to make `prompt`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            prompt: prompt.into(),
            ..Default::default()
        }
    }

    /// Add a reference image.
    pub fn image(mut self, image: ImageInput) -> Self {
        self.images.push(image);
        self
    }

    /// Set the aspect ratio.
    pub fn aspect_ratio(mut self, ratio: impl Into<String>) -> Self {
        self.aspect_ratio = Some(ratio.into());
        self
    }

    /// Set the size.
    pub fn size(mut self, size: impl Into<String>) -> Self {
        self.size = Some(size.into());
        self
    }

    /// Set the length in seconds.
    pub fn seconds(mut self, seconds: u32) -> Self {
        self.seconds = Some(seconds);
        self
    }

    /// Lay the typed body over `extra`: the typed fields win.
    fn over_extra<T: Serialize>(&self, typed: &T) -> Result<Map<String, Value>, Error> {
        let mut body = self.extra.clone();
        body.extend(crate::chat::to_object(typed)?);
        Ok(body)
    }

    /// The unified API's body: images as URLs (`data:` URLs for files), `seconds` as `duration`.
    pub fn to_unified(&self) -> Result<Map<String, Value>, Error> {
        let images = self
            .images
            .iter()
            .map(ImageInput::to_url)
            .collect::<Result<Vec<_>, _>>()?;
        let typed = UnifiedVideoCreateRequest {
            model: self.model.clone(),
            prompt: self.prompt.clone(),
            images,
            aspect_ratio: self.aspect_ratio.clone(),
            size: self.size.clone(),
            duration: self.seconds,
            enable_upsample: None,
            enhance_prompt: None,
            orientation: None,
            private: None,
            watermark: None,
            extra: Map::new(),
        };
        self.over_extra(&typed)
    }

    /// The OpenAI surface's JSON body (`seconds` as a string; a URL image as `input_reference`).
    pub fn to_openai(&self) -> Result<Map<String, Value>, Error> {
        let typed = CreateVideoRequest {
            model: self.model.clone(),
            prompt: self.prompt.clone(),
            seconds: self.seconds.map(|s| s.to_string()),
            size: self.size.clone(),
            extra: Map::new(),
        };
        let mut body = self.over_extra(&typed)?;
        if let Some(ratio) = &self.aspect_ratio {
            body.entry("aspect_ratio")
                .or_insert(Value::String(ratio.clone()));
        }
        if let Some(ImageInput::Url(url)) = self.images.first() {
            body.insert("input_reference".into(), Value::String(url.clone()));
        }
        Ok(body)
    }

    /// The OpenAI surface's multipart form, when a reference image is a local file.
    fn to_openai_multipart(&self) -> Result<Option<Vec<Part>>, Error> {
        let Some(ImageInput::File(path)) = self
            .images
            .iter()
            .find(|i| matches!(i, ImageInput::File(_)))
        else {
            return Ok(None);
        };
        if !path.is_file() {
            return Err(Error::Config(format!(
                "cannot read {}: not a file",
                path.display()
            )));
        }
        let mut parts = Vec::new();
        for (name, value) in self.to_openai()? {
            if name == "input_reference" {
                continue;
            }
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            parts.push(Part {
                name,
                value: PartValue::Text(text),
            });
        }
        parts.push(Part {
            name: "input_reference".into(),
            value: PartValue::File {
                path: path.clone(),
                content_type: None,
            },
        });
        Ok(Some(parts))
    }

    /// A chat request for relays that serve video models through chat: the prompt, and each
    /// image as an `image_url` part of the user message.
    pub fn to_chat_request(&self) -> Result<CreateChatCompletionRequest, Error> {
        let message = if self.images.is_empty() {
            ChatMessage::user(self.prompt.clone())
        } else {
            let mut parts = vec![ContentPart::text(self.prompt.clone())];
            for image in &self.images {
                parts.push(ContentPart::image_url(image.to_url()?));
            }
            ChatMessage::user(parts)
        };
        Ok(CreateChatCompletionRequest::new(
            self.model.clone(),
            [message],
        ))
    }
}

/// How [`Videos::wait`] polls.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// The pause between polls. `None`: the relay's `openai-poll-after-ms` when it sends one,
    /// else 5 s.
    pub interval: Option<Duration>,
    /// The longest wait in all (default 30 minutes); then the stream ends with
    /// `Error::Timeout(TimeoutKind::Deadline)`.
    pub max_wait: Duration,
    /// Poll failures in a row that are tolerated (each already retried by the transport) before
    /// the wait gives up (default 5).
    pub max_poll_failures: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            interval: None,
            max_wait: Duration::from_secs(1800),
            max_poll_failures: 5,
        }
    }
}

/// The default pause between polls.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Video tasks. Get one with [`Client::videos`].
#[derive(Clone, Debug)]
pub struct Videos<'a> {
    client: &'a Client,
    api: VideoApi,
    options: RequestOptions,
}

impl<'a> Videos<'a> {
    pub(crate) fn new(client: &'a Client, api: VideoApi) -> Self {
        Self {
            client,
            api,
            options: RequestOptions::default(),
        }
    }

    /// The same resource on another surface.
    pub fn api(mut self, api: VideoApi) -> Self {
        self.api = api;
        self
    }

    /// The same resource with per-request options.
    pub fn with_options(mut self, options: RequestOptions) -> Self {
        self.options = self.options.merged(&options);
        self
    }

    /// The surface in use.
    pub fn surface(&self) -> VideoApi {
        self.api
    }

    fn chat_surface_error(&self) -> Error {
        Error::Config(
            "a video made through chat lives in its stream: send it with client.chat().stream()"
                .into(),
        )
    }

    /// Create a task. Sent again only when the relay certainly did not take it.
    pub async fn create(&self, request: &VideoRequest) -> Result<VideoTask, Error> {
        match self.api {
            VideoApi::Unified => self.create_raw(&request.to_unified()?).await,
            VideoApi::OpenAi => match request.to_openai_multipart()? {
                Some(parts) => self.send_create(RequestBody::Multipart(parts)).await,
                None => self.create_raw(&request.to_openai()?).await,
            },
            VideoApi::Chat => Err(self.chat_surface_error()),
        }
    }

    /// Create a task from a body given whole (the surface's own JSON; unknown fields pass).
    pub async fn create_raw<B: Serialize + ?Sized>(&self, body: &B) -> Result<VideoTask, Error> {
        let body = crate::chat::json_body(body, &self.options)?;
        self.send_create(body).await
    }

    async fn send_create(&self, body: RequestBody) -> Result<VideoTask, Error> {
        let path = match self.api {
            VideoApi::Unified => "/video/create",
            VideoApi::OpenAi => "/videos",
            VideoApi::Chat => return Err(self.chat_surface_error()),
        };
        let request = Request::post_json(path, Bytes::new())
            .body(body)
            .resend(Resend::OnlyIfNotReceived)
            .options(self.options.transport.clone());
        self.task_of(self.client.http.send(&request).await?).await
    }

    /// The task's state now.
    pub async fn get(&self, id: &str) -> Result<VideoTask, Error> {
        let request = match self.api {
            VideoApi::Unified => Request::get("/video/query").query("id", id),
            VideoApi::OpenAi => Request::get(format!("/videos/{}", path_segment(id))),
            VideoApi::Chat => return Err(self.chat_surface_error()),
        };
        let request = request.options(self.options.transport.clone());
        self.task_of(self.client.http.send(&request).await?).await
    }

    async fn task_of(&self, response: quickrouter_transport::Response) -> Result<VideoTask, Error> {
        let request_id = response.request_id().map(str::to_owned);
        let poll_after = response
            .headers
            .get("openai-poll-after-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        let raw = response.bytes().await?;
        let http = &self.client.http;
        let mut task = VideoTask::from_json(self.api, raw.clone(), |id| {
            http.url(&format!("/videos/{}/content", path_segment(id)))
        })
        .ok_or_else(|| Error::Decode {
            message: "not a video task: no id".into(),
            snippet: String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned(),
            source: None,
        })?;
        task.request_id = request_id;
        // A path on the API's own host: the origin's URL of it.
        for url in [&mut task.video_url, &mut task.thumbnail_url]
            .into_iter()
            .flatten()
        {
            if url.starts_with('/') {
                *url = format!("{}{url}", self.client.http.origin());
            }
        }
        task.poll_after = poll_after;
        Ok(task)
    }

    /// Poll the task until it finishes: a `Stream` of every state read, ending after the first
    /// terminal one (completed, failed, cancelled). Transient poll errors are retried without
    /// failing the wait (up to `max_poll_failures` in a row); `max_wait` bounds it all.
    pub fn wait(&self, id: &str, options: WaitOptions) -> VideoWait<'a> {
        let videos = self.clone();
        let id = id.to_owned();
        let deadline = Instant::now() + options.max_wait;
        let state = WaitState {
            videos,
            id,
            options,
            deadline,
            first: true,
            failures: 0,
            next_pause: None,
            done: false,
        };
        VideoWait {
            inner: Box::pin(futures_util::stream::unfold(state, WaitState::step)),
        }
    }

    /// Download a finished task's video into `dir` (created if missing); returns its path.
    pub async fn download(&self, task: &VideoTask, dir: &Path) -> Result<PathBuf, Error> {
        self.download_with(task, dir, None, &mut |_| {}).await
    }

    /// [`download`](Self::download) with a file stem of your own (else one from the URL or the
    /// task id) and a progress callback.
    pub async fn download_with(
        &self,
        task: &VideoTask,
        dir: &Path,
        stem: Option<&str>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PathBuf, Error> {
        if !task.is_success() {
            return Err(Error::Api(Box::new(quickrouter_transport::ApiError {
                status: None,
                message: format!(
                    "video task {} is not completed (status {})",
                    task.id, task.status_text
                ),
                ..Default::default()
            })));
        }
        let url = task
            .video_url
            .clone()
            .ok_or_else(|| Error::media(format!("video task {} names no video URL", task.id)))?;
        let content_path = format!("/videos/{}/content", path_segment(&task.id));
        let source = if self.api == VideoApi::OpenAi && url == self.client.http.url(&content_path) {
            Source::Api {
                path: content_path,
                options: self.options.transport.clone(),
            }
        } else {
            Source::Url(url)
        };
        let stem = stem.map(str::to_owned).unwrap_or_else(|| match &source {
            Source::Api { .. } => download::sanitize(&task.id),
            Source::Url(url) => {
                download::stem_of_url(url).unwrap_or_else(|| download::sanitize(&task.id))
            }
        });
        download::fetch(self.client, source, dir, &stem, progress).await
    }
}

/// The updates of [`Videos::wait`].
pub struct VideoWait<'a> {
    inner: Pin<Box<dyn Stream<Item = Result<VideoTask, Error>> + Send + 'a>>,
}

impl fmt::Debug for VideoWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoWait").finish_non_exhaustive()
    }
}

impl Stream for VideoWait<'_> {
    type Item = Result<VideoTask, Error>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct WaitState<'a> {
    videos: Videos<'a>,
    id: String,
    options: WaitOptions,
    deadline: Instant,
    first: bool,
    failures: u32,
    next_pause: Option<Duration>,
    done: bool,
}

impl<'a> WaitState<'a> {
    async fn step(mut self) -> Option<(Result<VideoTask, Error>, Self)> {
        if self.done {
            return None;
        }
        loop {
            if !self.first {
                let pause = self
                    .options
                    .interval
                    .or(self.next_pause)
                    .unwrap_or(DEFAULT_POLL_INTERVAL);
                if Instant::now() + pause > self.deadline {
                    tokio::time::sleep_until(self.deadline).await;
                    self.done = true;
                    return Some((
                        Err(Error::Timeout(quickrouter_transport::TimeoutKind::Deadline)),
                        self,
                    ));
                }
                tokio::time::sleep(pause).await;
            }
            self.first = false;
            match self.videos.get(&self.id).await {
                Ok(task) => {
                    self.failures = 0;
                    self.next_pause = task.poll_after;
                    self.done = task.is_terminal();
                    return Some((Ok(task), self));
                }
                Err(error) => {
                    self.failures += 1;
                    let transient = error.is_retryable() || matches!(error, Error::Decode { .. });
                    if !transient || self.failures > self.options.max_poll_failures {
                        self.done = true;
                        return Some((Err(error), self));
                    }
                    tracing::warn!(task = %self.id, reason = %error, "poll failed; polling on");
                }
            }
        }
    }
}

/// An id as one URL path segment (ids such as `veo3.1-fast:1770350082-trii1OXZc3` are safe; a
/// `/` or `?` in one is escaped).
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

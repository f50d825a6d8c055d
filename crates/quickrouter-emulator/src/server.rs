//! The HTTP server: hyper's HTTP/1.1 connection handling on a thread of its own.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::scenario::{self, Answer, Context, Step};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The only API key accepted (`Authorization: Bearer KEY`).
    pub api_key: String,
    /// The port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// One step of a video job: between progress notes of video over chat (and slow-keepalive's
    /// silences), and each stage of a video task (queued, three of progress, done).
    pub video_step: Duration,
    /// Write every streamed body in pieces of 1..=N bytes.
    pub split: Option<usize>,
    /// Seed of the piece sizes.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            api_key: "sk-emulator".to_owned(),
            port: 0,
            video_step: Duration::from_millis(400),
            split: None,
            seed: 1,
        }
    }
}

/// A request the emulator received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query (after `?`), empty if none.
    pub query: String,
    /// The headers, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// The request id the emulator answered with (`x-request-id`).
    pub request_id: String,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` if it is not JSON); a multipart form as an object of its
    /// fields (files as `{"file_name", "content_type", "size"}`).
    pub fn json(&self) -> Value {
        let content_type = self.header("content-type").unwrap_or_default();
        match content_type.strip_prefix("multipart/form-data") {
            Some(params) => crate::video::multipart_fields(params, &self.body),
            None => serde_json::from_slice(&self.body).unwrap_or(Value::Null),
        }
    }
}

struct Shared {
    options: Options,
    origin: String,
    records: Mutex<Vec<RecordedRequest>>,
    attempts: Mutex<HashMap<String, u64>>,
    counter: AtomicU64,
    tasks: crate::video::Tasks,
    limits: crate::limits::Limits,
    started: std::time::Instant,
    statuses: Mutex<Vec<(Duration, u16)>>,
}

/// A running emulator. It serves until dropped.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Start serving on 127.0.0.1 (on a thread of its own, so it works from any test).
    pub fn start(options: Options) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            origin: format!("http://{addr}"),
            options,
            records: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            tasks: crate::video::Tasks::default(),
            limits: crate::limits::Limits::default(),
            started: std::time::Instant::now(),
            statuses: Mutex::new(Vec::new()),
        });
        let (shutdown, stop) = oneshot::channel();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("quickrouter-emulator".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the emulator");
                runtime.block_on(serve(listener, state, stop));
            })?;
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL a client should use.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.shared.origin)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.options.api_key
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.records.lock().unwrap().clone()
    }

    /// The status of every answer so far, with when it was given (since the emulator started).
    pub fn statuses(&self) -> Vec<(Duration, u16)> {
        self.shared.statuses.lock().unwrap().clone()
    }

    /// How many video creates `model` has received.
    pub fn video_creates(&self, model: &str) -> u64 {
        self.shared.tasks.creates(model)
    }

    /// Requests received so far whose path ends with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// A response body fed from a channel, so scripted steps (pauses, resets) reach the wire as written.
struct ChannelBody(mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx)
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ChannelBody>, Infallible> {
    let n = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let request_id = format!("2026112418{n:06}emu");
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let req_content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let range = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let split_header = req
        .headers()
        .get("x-emulator-split")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let authorized = authorization == format!("Bearer {}", shared.options.api_key);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    shared.records.lock().unwrap().push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers,
        body: body.clone(),
        request_id: request_id.clone(),
    });

    let content_type = req_content_type.unwrap_or_default();
    let parsed: Value = match content_type.strip_prefix("multipart/form-data") {
        // Text fields become the body's fields; a file part becomes {"file_name", "bytes"}.
        Some(params) => crate::video::multipart_fields(params, &body),
        None => serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let model = parsed["model"].as_str().unwrap_or_default().to_owned();
    let attempt = {
        let mut attempts = shared.attempts.lock().unwrap();
        let count = attempts.entry(model.clone()).or_default();
        *count += 1;
        *count - 1
    };
    let ctx = Context {
        body: &parsed,
        stream: parsed["stream"] == Value::Bool(true),
        origin: &shared.origin,
        request_id: &request_id,
        attempt,
        video_step: shared.options.video_step,
        authorization: &authorization,
        range: range.as_deref(),
        redirected: path.contains("/redirected/"),
    };

    // Load limits (`limited-4`, `rate-limited`): admitted requests hold a slot until written.
    let admitted = if authorized && method == "POST" {
        match shared.limits.admit(&model, &authorization, &ctx) {
            Ok(slot) => slot,
            Err(refusal) => {
                return Ok(respond(&shared, refusal, &request_id, split_header, n));
            }
        }
    } else {
        None
    };
    let answer = if method == "GET" && media_bytes(&path).is_some() {
        // Media by the last path segment, wherever it is linked from (no key needed).
        let relative = match path.find("/files/") {
            Some(at) => &path[at + "/files/".len()..],
            None => path.rsplit('/').next().unwrap_or_default(),
        };
        crate::video::media(&shared.tasks, relative, range.as_deref(), &shared.origin)
    } else if let Some(answer) = authorized
        .then(|| crate::video::route(&shared.tasks, &method, &path, &query, &ctx))
        .flatten()
    {
        answer
    } else if !authorized && crate::video::route_exists(&path) {
        scenario::unauthorized(&ctx)
    } else if path.ends_with("/chat/completions") && method == "POST" {
        if !authorized {
            scenario::unauthorized(&ctx)
        } else if !parsed.is_object() {
            scenario::bad_request("请求体不是有效的 JSON (invalid JSON body)", &ctx)
        } else if model.is_empty() {
            scenario::bad_request("you must provide a model parameter", &ctx)
        } else if parsed["messages"].as_array().is_none_or(|m| m.is_empty()) {
            scenario::bad_request("'messages' must be a non-empty array", &ctx)
        } else {
            scenario::chat(&ctx)
        }
    } else if path.ends_with("/models") && method == "GET" {
        if authorized {
            scenario_json(scenario::models())
        } else {
            scenario::unauthorized(&ctx)
        }
    } else {
        scenario::error_answer(
            404,
            "not_found",
            &format!("no route for {method} {path}"),
            "invalid_request_error",
            &ctx,
        )
    };

    let mut answer = answer;
    if let Some(slot) = admitted {
        answer.steps.insert(0, Step::Pause(crate::limits::HOLD));
        answer.slot = Some(slot);
    }
    if answer.hang_before_head {
        std::future::pending::<()>().await;
    }
    Ok(respond(&shared, answer, &request_id, split_header, n))
}

/// Send `answer`: its head now, its body steps from a task of their own.
fn respond(
    shared: &Shared,
    answer: Answer,
    request_id: &str,
    split_header: Option<usize>,
    n: u64,
) -> Response<ChannelBody> {
    shared
        .statuses
        .lock()
        .unwrap()
        .push((shared.started.elapsed(), answer.status));
    let split = split_header.or(shared.options.split).filter(|n| *n > 0);
    let seed = shared.options.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let (tx, rx) = mpsc::channel(64);
    let steps = answer
        .steps
        .into_iter()
        .chain(answer.tail.into_iter().flat_map(|t| t.0));
    let slot = answer.slot;
    tokio::spawn(async move {
        write_steps(steps, tx, split, seed).await;
        drop(slot);
    });
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", answer.content_type)
        .header("x-request-id", request_id)
        .header("X-Oneapi-Request-Id", request_id);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    response.body(ChannelBody(rx)).expect("a valid response")
}

fn scenario_json(body: Value) -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        content_type: "application/json",
        steps: vec![Step::Write(Bytes::from(body.to_string()))],
        tail: None,
        hang_before_head: false,
        slot: None,
    }
}

async fn write_steps(
    steps: impl Iterator<Item = Step>,
    tx: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    split: Option<usize>,
    mut seed: u64,
) {
    for step in steps {
        match step {
            Step::Write(bytes) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let take = match split {
                        Some(max) => {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            1 + (seed as usize) % max
                        }
                        None => rest.len(),
                    };
                    let piece = rest.split_to(take.min(rest.len()));
                    if tx.send(Ok(Frame::data(piece))).await.is_err() {
                        return;
                    }
                }
            }
            Step::Pause(duration) => tokio::time::sleep(duration).await,
            Step::Reset => {
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "reset",
                    )))
                    .await;
                return;
            }
            Step::Hang => {
                tx.closed().await;
                return;
            }
        }
    }
}

/// The media a video-chat answer links to: deterministic bytes, so downloads can be compared.
pub fn media_bytes(name: &str) -> Option<(&'static str, Vec<u8>)> {
    let (content_type, magic): (&str, &[u8]) = match name.rsplit_once('.')?.1 {
        "mp4" => (
            "video/mp4",
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
        ),
        "webp" => ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 "),
        "mov" => (
            "video/quicktime",
            b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
        ),
        _ => return None,
    };
    let mut state: u64 = name.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    let mut out = magic.to_vec();
    while out.len() < 96 * 1024 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    Some((content_type, out))
}

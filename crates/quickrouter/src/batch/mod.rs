//! `quickrouter::batch`: thousands of chat and video jobs from a JSONL file, resumable, rate-limit
//! aware. The CLI's `quickrouter batch` only parses and displays; a Rust program runs a batch with
//! its own progress callback.
//!
//! - **Input**: the OpenAI Batch input format, one job a line: `{"custom_id", "method"?: "POST",
//!   "url": "/v1/chat/completions" | "/v1/video/create" | "/v1/videos", "body": {...}}`. Every line
//!   is validated before anything is sent ([`parse_jobs`]).
//! - **Output** in the directory: `results.jsonl` (the OpenAI Batch output format, one whole line
//!   per finished job: the relay's body, a streamed chat job's assembled completion, or a video
//!   job's last task object), `errors.jsonl` (one line per job failed now), `media/CUSTOM_ID.EXT`
//!   (videos), and `ledger.sqlite3`.
//! - **Resume**: the [ledger](ledger) records each job's state in transactions. A rerun skips done
//!   jobs, polls accepted video tasks (never creates them again), sends again a chat job that was in
//!   flight, and fails with `create_unconfirmed` a video create that was in flight (it may exist
//!   and be billed) until `retry_failed`. A result line written just before a kill is found on
//!   the rerun and counted, never sent again.
//! - **Concurrency**: a ceiling and an adaptive window (see [`window`]); `Retry-After` honoured;
//!   video polling holds no request slot.
//! - **Shards**: [`shard`] keeps the jobs whose `custom_id` hashes to K of N.

pub mod files;
pub mod ledger;
pub mod window;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

pub use ledger::{Ledger, Summary, Usage};

use crate::videos::{VideoApi, VideoTask, WaitOptions};
use crate::{ApiErrorKind, Client, Error, RequestOptions};

/// What a job asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/video/create` (unified) or `POST /v1/videos` (OpenAI format).
    Video(VideoApi),
}

/// One line of the input.
#[derive(Debug, Clone)]
pub struct Job {
    /// The line number (1-based).
    pub line: usize,
    /// The caller's id, unique in the file.
    pub custom_id: String,
    /// The endpoint.
    pub kind: JobKind,
    /// The request body, sent as given (unknown fields pass through).
    pub body: Map<String, Value>,
}

/// A line of the input that is not a valid job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The line number (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for InputError {}

/// Read every job of a JSONL text; the first invalid line (malformed JSON, no or a duplicate
/// `custom_id`, an unknown `url`, a `method` other than POST, a `body` that is not an object) is
/// an error. Blank lines are skipped.
pub fn parse_jobs(text: &str) -> Result<Vec<Job>, InputError> {
    let mut jobs = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| InputError { line, message };
        let value: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(bad("not a JSON object".into()));
        };
        let custom_id = match object.remove("custom_id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id,
            Some(_) => return Err(bad("\"custom_id\" must be a non-empty string".into())),
            None => return Err(bad("no \"custom_id\"".into())),
        };
        if let Some(first) = seen.insert(custom_id.clone(), line) {
            return Err(bad(format!(
                "custom_id {custom_id:?} is also on line {first}"
            )));
        }
        match object.get("method") {
            None => {}
            Some(Value::String(m)) if m.eq_ignore_ascii_case("POST") => {}
            Some(other) => return Err(bad(format!("method {other} is not POST"))),
        }
        let url = object
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"url\"".into()))?;
        let path = url
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        let kind = if path == "/v1/chat/completions" || path == "/chat/completions" {
            JobKind::Chat
        } else if path == "/v1/video/create" || path == "/video/create" {
            JobKind::Video(VideoApi::Unified)
        } else if path == "/v1/videos" || path == "/videos" {
            JobKind::Video(VideoApi::OpenAi)
        } else {
            return Err(bad(format!(
                "unknown url {url:?}: expected /v1/chat/completions, /v1/video/create or /v1/videos"
            )));
        };
        let body = match object.remove("body") {
            Some(Value::Object(body)) => body,
            Some(_) => return Err(bad("\"body\" must be a JSON object".into())),
            None => return Err(bad("no \"body\"".into())),
        };
        jobs.push(Job {
            line,
            custom_id,
            kind,
            body,
        });
    }
    Ok(jobs)
}

/// The jobs whose `custom_id` hashes (FNV-1a) to `index` of `count` (0 ≤ index < count): run one
/// shard per machine, each with its own directory, and `merge` the results.
pub fn shard(jobs: Vec<Job>, index: u32, count: u32) -> Vec<Job> {
    jobs.into_iter()
        .filter(|job| shard_of(&job.custom_id, count) == index)
        .collect()
}

/// The shard a `custom_id` belongs to.
pub fn shard_of(custom_id: &str, count: u32) -> u32 {
    let hash = custom_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % u64::from(count.max(1))) as u32
}

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The most requests in flight, and the window's start (default 8).
    pub concurrency: usize,
    /// Run the jobs that failed before again (a video job with a task id is polled, not created).
    pub retry_failed: bool,
    /// How video tasks are polled.
    pub poll: WaitOptions,
    /// Tries of a job whose failures are transient (5xx, network, a broken stream) before it
    /// fails (default 3); refusals for load (429, concurrency limits) do not count.
    pub max_attempts: u32,
    /// How long in-flight requests may finish after a stop (default 10 s).
    pub grace: Duration,
    /// Keep the ledger in memory instead of `DIR/ledger.sqlite3` (to measure what the file costs;
    /// nothing survives the process).
    pub ledger_in_memory: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            retry_failed: false,
            poll: WaitOptions::default(),
            max_attempts: 3,
            grace: Duration::from_secs(10),
            ledger_in_memory: false,
        }
    }
}

/// What happens during a run, for a progress display.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The run starts: how many jobs are to do now, and the counts so far.
    Start {
        /// Jobs this run will send or poll.
        todo: u64,
        /// The ledger's counts at the start.
        summary: Summary,
    },
    /// A request was sent.
    Sent {
        /// The job.
        custom_id: String,
    },
    /// A video task was accepted.
    Accepted {
        /// The job.
        custom_id: String,
        /// Its task id.
        task_id: String,
    },
    /// A video task reported progress.
    Progress {
        /// The job.
        custom_id: String,
        /// The status as the relay wrote it.
        status: String,
        /// 0 to 100, when known.
        progress: Option<u8>,
    },
    /// A job finished.
    Done {
        /// The job.
        custom_id: String,
    },
    /// A job failed.
    Failed {
        /// The job.
        custom_id: String,
        /// The error code.
        code: String,
        /// The reason.
        message: String,
    },
    /// A job will be sent again.
    Retrying {
        /// The job.
        custom_id: String,
        /// Why.
        reason: String,
    },
    /// The concurrency window changed.
    Window {
        /// Requests that may be in flight now.
        size: usize,
    },
    /// A stop was asked for: no new job starts; in-flight ones get the grace period.
    Stopping,
}

/// How a run ended.
#[derive(Debug)]
pub struct Report {
    /// The ledger's counts at the end.
    pub summary: Summary,
    /// Requests sent this run (creates and chat requests; polls not counted).
    pub sent: u64,
    /// Of those, refused for load (429, concurrency limits).
    pub throttled: u64,
    /// The run stopped early because of a stop request.
    pub stopped: bool,
    /// The run could not go on (the key refused, the quota gone): the error.
    pub fatal: Option<Error>,
}

type Pending<'a, T> = FuturesUnordered<Pin<Box<dyn Future<Output = T> + 'a>>>;

/// A request's outcome, back in the runner.
struct Sent {
    custom_id: String,
    generation: u64,
    result: Result<Answer, Error>,
}

enum Answer {
    Chat {
        body: Value,
        request_id: Option<String>,
        usage: Usage,
    },
    Video(VideoTask),
}

/// A video watcher's outcome.
struct Watched {
    custom_id: String,
    result: Result<VideoTask, Error>,
}

/// Run `jobs` into `dir`. Returns when every job is done or failed, when `stop` resolves (after
/// the grace period), or when the run cannot go on (`Report::fatal`).
pub async fn run(
    client: &Client,
    jobs: Vec<Job>,
    dir: &Path,
    options: BatchOptions,
    stop: impl Future<Output = ()>,
    mut on_event: impl FnMut(&Event),
) -> Result<Report, Error> {
    let media_dir = dir.join("media");
    std::fs::create_dir_all(&media_dir)
        .map_err(|e| Error::Config(format!("cannot create {}: {e}", media_dir.display())))?;
    let mut ledger = if options.ledger_in_memory {
        Ledger::in_memory()?
    } else {
        Ledger::open(dir)?
    };
    ledger.add(&jobs)?;
    let (mut results, present) = files::Results::open(dir)?;
    let by_id: HashMap<String, Job> = jobs
        .into_iter()
        .map(|job| (job.custom_id.clone(), job))
        .collect();

    // Reconcile with what the last run left.
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut to_watch: Vec<(String, String)> = Vec::new();
    let mut rows = ledger.rows()?;
    rows.retain(|row| by_id.contains_key(&row.custom_id));
    for row in &rows {
        let job = &by_id[&row.custom_id];
        if let Some(written) = present.get(&row.custom_id) {
            if row.state != ledger::State::Done {
                // Its line was written just before a kill: count it (with what the line says),
                // never send it again.
                ledger.done(&row.custom_id, written.request_id.as_deref(), written.usage)?;
            }
            continue;
        }
        let state = match row.state {
            ledger::State::Failed if options.retry_failed => {
                if row.task_id.is_some() {
                    ledger::State::Accepted
                } else {
                    ledger.pending(&row.custom_id)?;
                    ledger::State::Pending
                }
            }
            ledger::State::Sent => match job.kind {
                JobKind::Chat => {
                    ledger.pending(&row.custom_id)?;
                    ledger::State::Pending
                }
                JobKind::Video(_) => {
                    let line = error_line(
                        &row.custom_id,
                        None,
                        None,
                        None,
                        "create_unconfirmed",
                        "the create was in flight when the last run stopped: the task may exist and be billed, so it is not sent again (use --retry-failed to send it)",
                    );
                    ledger.failed(&row.custom_id, "create_unconfirmed", &line)?;
                    ledger::State::Failed
                }
            },
            ledger::State::Done if !present.contains_key(&row.custom_id) => {
                // The ledger says done but the line is gone (the file was removed): do it again.
                ledger.pending(&row.custom_id)?;
                ledger::State::Pending
            }
            state => state,
        };
        match state {
            ledger::State::Pending => queue.push_back(row.custom_id.clone()),
            ledger::State::Accepted => match &row.task_id {
                Some(task) => to_watch.push((row.custom_id.clone(), task.clone())),
                None => {
                    ledger.pending(&row.custom_id)?;
                    queue.push_back(row.custom_id.clone());
                }
            },
            _ => {}
        }
    }
    files::write_errors(dir, &ledger.error_lines()?)?;
    on_event(&Event::Start {
        todo: (queue.len() + to_watch.len()) as u64,
        summary: ledger.summary()?,
    });

    let no_retries = RequestOptions::new().max_retries(0);
    let chat = client.chat().with_options(no_retries.clone());
    let mut window = window::Window::new(options.concurrency);
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut requests: Pending<'_, Sent> = FuturesUnordered::new();
    let mut watchers: Pending<'_, Watched> = FuturesUnordered::new();
    let mut delayed: Pending<'_, String> = FuturesUnordered::new();
    let mut paused_until: Option<Instant> = None;
    let mut report = Report {
        summary: Summary::default(),
        sent: 0,
        throttled: 0,
        stopped: false,
        fatal: None,
    };
    let mut stopping_at: Option<Instant> = None;
    let mut stop = std::pin::pin!(stop);
    let mut stop_seen = false;

    // Watchers report each poll here; the loop turns them into `Event::Progress`.
    let (progress_tx, mut progress_rx) =
        tokio::sync::mpsc::unbounded_channel::<(String, String, Option<u8>)>();
    let watch = |custom_id: String,
                 api: VideoApi,
                 task_id: String|
     -> Pin<Box<dyn Future<Output = Watched> + '_>> {
        let videos = client.videos().api(api).with_options(no_retries.clone());
        let poll = options.poll.clone();
        let progress = progress_tx.clone();
        Box::pin(async move {
            let mut last: Option<VideoTask> = None;
            let mut updates = videos.wait(&task_id, poll);
            while let Some(update) = updates.next().await {
                match update {
                    Ok(task) => {
                        let _ = progress.send((
                            custom_id.clone(),
                            task.status_text.clone(),
                            task.progress,
                        ));
                        last = Some(task);
                    }
                    Err(e) => {
                        return Watched {
                            custom_id,
                            result: Err(e),
                        }
                    }
                }
            }
            drop(updates);
            let result = match last {
                Some(task) => Ok(task),
                None => videos.get(&task_id).await,
            };
            Watched { custom_id, result }
        })
    };

    for (custom_id, task_id) in to_watch {
        let api = match by_id[&custom_id].kind {
            JobKind::Video(api) => api,
            JobKind::Chat => VideoApi::Unified,
        };
        watchers.push(watch(custom_id, api, task_id));
    }

    loop {
        // Start what the window, the pause and a stop allow.
        let now = Instant::now();
        if paused_until.is_some_and(|until| now >= until) {
            paused_until = None;
        }
        while report.fatal.is_none()
            && stopping_at.is_none()
            && paused_until.is_none()
            && requests.len() < window.size()
        {
            let Some(custom_id) = queue.pop_front() else {
                break;
            };
            let job = &by_id[&custom_id];
            // A video create is recorded as sent before it is written (a rerun must not create it
            // again); a chat job in flight at a kill is simply sent again, so it needs no write.
            if matches!(job.kind, JobKind::Video(_)) {
                ledger.sent(&custom_id)?;
            }
            report.sent += 1;
            on_event(&Event::Sent {
                custom_id: custom_id.clone(),
            });
            let generation = window.generation();
            let chat = chat.clone();
            let videos = match job.kind {
                JobKind::Video(api) => {
                    Some(client.videos().api(api).with_options(no_retries.clone()))
                }
                JobKind::Chat => None,
            };
            let body = job.body.clone();
            requests.push(Box::pin(async move {
                let result = match videos {
                    None => send_chat(&chat, &body).await,
                    Some(videos) => videos.create_raw(&body).await.map(Answer::Video),
                };
                Sent {
                    custom_id,
                    generation,
                    result,
                }
            }));
        }

        let winding_down = stopping_at.is_some() || report.fatal.is_some();
        if requests.is_empty()
            && (watchers.is_empty() || winding_down)
            && ((queue.is_empty() && delayed.is_empty()) || winding_down)
        {
            break;
        }

        let pause = async {
            match paused_until {
                Some(until) if !queue.is_empty() => tokio::time::sleep_until(until).await,
                _ => std::future::pending().await,
            }
        };
        let grace = async {
            match stopping_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(sent) = requests.next(), if !requests.is_empty() => {
                let job = &by_id[&sent.custom_id];
                match sent.result {
                    Ok(Answer::Chat { body, request_id, usage }) => {
                        window.success();
                        let line = result_line(&sent.custom_id, 200, request_id.as_deref(), &body);
                        results.append(&line)?;
                        let tries = attempts.remove(&sent.custom_id).unwrap_or(0) + 1;
                        ledger.done_after(&sent.custom_id, request_id.as_deref(), usage, tries)?;
                        on_event(&Event::Done { custom_id: sent.custom_id });
                    }
                    Ok(Answer::Video(task)) => {
                        window.success();
                        ledger.accepted(&sent.custom_id, &task.id, task.request_id.as_deref())?;
                        on_event(&Event::Accepted { custom_id: sent.custom_id.clone(), task_id: task.id.clone() });
                        if stopping_at.is_none() {
                            let api = match job.kind { JobKind::Video(api) => api, JobKind::Chat => VideoApi::Unified };
                            watchers.push(watch(sent.custom_id, api, task.id));
                        }
                    }
                    Err(error) => {
                        let load = is_load_refusal(&error);
                        if load {
                            report.throttled += 1;
                            if window.throttled(sent.generation) {
                                on_event(&Event::Window { size: window.size() });
                            }
                            let wait = error.retry_after().unwrap_or(Duration::from_millis(200));
                            let until = Instant::now() + wait.min(Duration::from_secs(120));
                            paused_until = Some(paused_until.map_or(until, |p| p.max(until)));
                        }
                        let tries = attempts.entry(sent.custom_id.clone()).or_default();
                        if !load {
                            *tries += 1;
                        }
                        let fatal = matches!(error.kind(), Some(ApiErrorKind::Authentication | ApiErrorKind::PermissionDenied | ApiErrorKind::Quota));
                        let unconfirmed = matches!(error, Error::Unconfirmed(_));
                        if fatal {
                            // The key or the account: every job would fail the same way.
                            ledger.pending(&sent.custom_id)?;
                            queue.push_front(sent.custom_id);
                            if report.fatal.is_none() {
                                report.fatal = Some(error);
                            }
                        } else if unconfirmed {
                            let line = error_line_of(&sent.custom_id, &error, "create_unconfirmed");
                            ledger.failed(&sent.custom_id, "create_unconfirmed", &line)?;
                            on_event(&Event::Failed { custom_id: sent.custom_id, code: "create_unconfirmed".into(), message: error.to_string() });
                        } else if stopping_at.is_some() && (load || error.is_retryable()) {
                            // Stopping: leave it pending for the next run.
                            ledger.pending(&sent.custom_id)?;
                        } else if load {
                            ledger.pending(&sent.custom_id)?;
                            on_event(&Event::Retrying { custom_id: sent.custom_id.clone(), reason: error.to_string() });
                            queue.push_front(sent.custom_id);
                        } else if error.is_retryable() && *tries < options.max_attempts {
                            // Back off (0.5 s, doubling, at most 8 s, or what the server asked)
                            // before this job goes back in the queue; the others go on.
                            ledger.pending(&sent.custom_id)?;
                            on_event(&Event::Retrying { custom_id: sent.custom_id.clone(), reason: error.to_string() });
                            let wait = error.retry_after().unwrap_or_else(|| {
                                Duration::from_millis(500 * (1 << (*tries - 1).min(4)))
                            }).min(Duration::from_secs(120));
                            let custom_id = sent.custom_id;
                            delayed.push(Box::pin(async move {
                                tokio::time::sleep(wait).await;
                                custom_id
                            }));
                        } else {
                            // Refused for good, or transient failures past `max_attempts`.
                            let code = code_of(&error);
                            let line = error_line_of(&sent.custom_id, &error, &code);
                            ledger.failed(&sent.custom_id, &code, &line)?;
                            on_event(&Event::Failed { custom_id: sent.custom_id, code, message: error.to_string() });
                        }
                    }
                }
            }
            Some(custom_id) = delayed.next(), if !delayed.is_empty() => {
                queue.push_back(custom_id);
            }
            Some((custom_id, status, progress)) = progress_rx.recv() => {
                on_event(&Event::Progress { custom_id, status, progress });
            }
            Some(watched) = watchers.next(), if !watchers.is_empty() => {
                finish_video(&watched, &by_id, &media_dir, client, &mut results, &mut ledger, &mut on_event).await?;
            }
            () = &mut stop, if !stop_seen => {
                stop_seen = true;
                report.stopped = true;
                stopping_at = Some(Instant::now() + options.grace);
                on_event(&Event::Stopping);
            }
            () = pause => {}
            () = grace => {
                // In-flight requests are abandoned: the ledger says `sent`, the next run decides.
                break;
            }
        }
    }
    drop(requests);
    drop(watchers);
    drop(delayed);
    files::write_errors(dir, &ledger.error_lines()?)?;
    report.summary = ledger.summary()?;
    Ok(report)
}

async fn send_chat(chat: &crate::Chat<'_>, body: &Map<String, Value>) -> Result<Answer, Error> {
    let usage_of = |value: &Value| Usage {
        prompt_tokens: value["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        completion_tokens: value["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        total_tokens: value["usage"]["total_tokens"].as_u64().unwrap_or(0),
    };
    if body.get("stream") == Some(&Value::Bool(true)) {
        let stream = chat.stream(body).await?;
        let request_id = stream.request_id().map(str::to_owned);
        let completion = stream.collect_completion().await?;
        let body = serde_json::to_value(&completion).unwrap_or(Value::Null);
        Ok(Answer::Chat {
            usage: usage_of(&body),
            body,
            request_id,
        })
    } else {
        let answer = chat.create_with_response(body).await?;
        let body: Value = serde_json::from_slice(&answer.raw).unwrap_or(Value::Null);
        Ok(Answer::Chat {
            usage: usage_of(&body),
            request_id: answer.request_id().map(str::to_owned),
            body,
        })
    }
}

/// A finished (or failed) video task: download it, write its line, record it.
async fn finish_video(
    watched: &Watched,
    by_id: &HashMap<String, Job>,
    media_dir: &Path,
    client: &Client,
    results: &mut files::Results,
    ledger: &mut Ledger,
    on_event: &mut dyn FnMut(&Event),
) -> Result<(), Error> {
    let custom_id = &watched.custom_id;
    let api = match by_id[custom_id].kind {
        JobKind::Video(api) => api,
        JobKind::Chat => VideoApi::Unified,
    };
    let fail = |ledger: &mut Ledger,
                on_event: &mut dyn FnMut(&Event),
                code: &str,
                message: String,
                task: Option<&VideoTask>|
     -> Result<(), Error> {
        let body = task.map(VideoTask::json);
        let line = error_line(
            custom_id,
            task.map(|_| 200),
            task.and_then(|t| t.request_id.as_deref()),
            body.as_ref(),
            code,
            &message,
        );
        ledger.failed(custom_id, code, &line)?;
        on_event(&Event::Failed {
            custom_id: custom_id.clone(),
            code: code.to_owned(),
            message,
        });
        Ok(())
    };
    let task = match &watched.result {
        Ok(task) => task,
        Err(Error::Timeout(crate::TimeoutKind::Deadline)) => {
            return fail(
                ledger,
                on_event,
                "wait_timeout",
                "the video did not finish in time; a rerun with --retry-failed polls it again"
                    .into(),
                None,
            )
        }
        Err(e) => return fail(ledger, on_event, &code_of(e), e.to_string(), None),
    };
    on_event(&Event::Progress {
        custom_id: custom_id.clone(),
        status: task.status_text.clone(),
        progress: task.progress,
    });
    if task.is_failure() {
        let reason = task
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("the video ended {}", task.status_text));
        return fail(ledger, on_event, "generation_failed", reason, Some(task));
    }
    if !task.is_success() {
        return fail(
            ledger,
            on_event,
            "wait_timeout",
            format!("the video is still {}", task.status_text),
            Some(task),
        );
    }
    let stem = crate::download::sanitize(custom_id);
    let videos = client.videos().api(api);
    let saved: Result<PathBuf, Error> = videos
        .download_with(task, media_dir, Some(&stem), &mut |_| {})
        .await;
    if let Err(e) = saved {
        return fail(
            ledger,
            on_event,
            "download_failed",
            e.to_string(),
            Some(task),
        );
    }
    let line = result_line(custom_id, 200, task.request_id.as_deref(), &task.json());
    results.append(&line)?;
    ledger.done(custom_id, task.request_id.as_deref(), Usage::default())?;
    on_event(&Event::Done {
        custom_id: custom_id.clone(),
    });
    Ok(())
}

/// Refused for load: a 429 that is not a quota error, or a concurrency-limit code.
fn is_load_refusal(error: &Error) -> bool {
    let Some(api) = error.inner().api() else {
        return false;
    };
    api.kind() == ApiErrorKind::RateLimit
        || api
            .code
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("concurrency"))
}

fn code_of(error: &Error) -> String {
    if let Some(code) = error
        .api()
        .and_then(|a| a.code.clone())
        .filter(|c| !c.is_empty())
    {
        return code;
    }
    match error.inner() {
        Error::Api(api) => api
            .status
            .map_or("api_error".into(), |s| format!("http_{s}")),
        Error::Stream(_) => "stream_broken".into(),
        Error::Timeout(_) => "timeout".into(),
        Error::Connect { .. } | Error::Network { .. } => "network_error".into(),
        Error::Decode { .. } => "invalid_response".into(),
        Error::Media { .. } => "download_failed".into(),
        _ => "error".into(),
    }
}

/// A stable id for a job's output line.
fn line_id(custom_id: &str) -> String {
    let hash = custom_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("batch_req_{hash:016x}")
}

fn result_line(custom_id: &str, status: u16, request_id: Option<&str>, body: &Value) -> String {
    json!({
        "id": line_id(custom_id),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": body},
        "error": null,
    })
    .to_string()
}

fn error_line(
    custom_id: &str,
    status: Option<u16>,
    request_id: Option<&str>,
    body: Option<&Value>,
    code: &str,
    message: &str,
) -> String {
    json!({
        "id": line_id(custom_id),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": body},
        "error": {"code": code, "message": message},
    })
    .to_string()
}

fn error_line_of(custom_id: &str, error: &Error, code: &str) -> String {
    let api = error.api();
    error_line(
        custom_id,
        error.status(),
        error.request_id(),
        api.and_then(|a| a.body.as_ref()),
        code,
        &error.to_string(),
    )
}

/// Where a batch directory stands, from its ledger.
pub fn status(dir: &Path) -> Result<Summary, Error> {
    if !dir.join("ledger.sqlite3").exists() {
        return Err(Error::Config(format!(
            "{} holds no batch (no ledger.sqlite3)",
            dir.display()
        )));
    }
    Ledger::open(dir)?.summary()
}

/// The `results.jsonl` lines of several shard directories, unchanged, each once.
pub fn merge(dirs: &[PathBuf]) -> Result<Vec<String>, Error> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for dir in dirs {
        for line in files::result_lines(dir)? {
            let first = files::custom_id_of(&line).is_none_or(|id| seen.insert(id));
            if first {
                out.push(line);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_error_names_its_line() {
        let ok = r#"{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}"#;
        let cases = [
            ("{not json", 2, "not JSON"),
            (
                r#"{"url": "/v1/chat/completions", "body": {}}"#,
                2,
                "custom_id",
            ),
            (
                r#"{"custom_id": "a", "url": "/v1/chat/completions", "body": {}}"#,
                2,
                "also on line 1",
            ),
            (
                r#"{"custom_id": "b", "url": "/v1/embeddings", "body": {}}"#,
                2,
                "unknown url",
            ),
            (
                r#"{"custom_id": "b", "method": "GET", "url": "/v1/videos", "body": {}}"#,
                2,
                "not POST",
            ),
            (
                r#"{"custom_id": "b", "url": "/v1/videos", "body": [1]}"#,
                2,
                "body",
            ),
        ];
        for (bad, line, needle) in cases {
            let text = format!("{ok}\n{bad}\n");
            let error = parse_jobs(&text).unwrap_err();
            assert_eq!(error.line, line, "{bad}");
            assert!(error.message.contains(needle), "{}", error.message);
        }
        let jobs = parse_jobs(&format!(
            "{ok}\n\n{}\n{}",
            r#"{"custom_id": "v", "url": "/v1/video/create", "body": {"model": "m", "prompt": "p"}}"#,
            r#"{"custom_id": "o", "url": "/v1/videos", "body": {"model": "m", "prompt": "p"}}"#
        ))
        .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.kind).collect::<Vec<_>>(),
            [
                JobKind::Chat,
                JobKind::Video(VideoApi::Unified),
                JobKind::Video(VideoApi::OpenAi)
            ]
        );
        assert_eq!(jobs[2].line, 4);
    }

    #[tokio::test]
    async fn a_result_line_the_ledger_missed_is_counted_not_sent_again() {
        let emulator = quickrouter_emulator::Emulator::start(Default::default()).unwrap();
        let client = crate::Client::builder()
            .base_url(emulator.base_url())
            .api_key(emulator.api_key())
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("qr-batch-missed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let jobs = parse_jobs(concat!(
            r#"{"custom_id": "a", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}}"#,
            "\n",
            r#"{"custom_id": "b", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}}"#,
        ))
        .unwrap();
        // A kill between writing a's line and recording it: the ledger says pending.
        Ledger::open(&dir).unwrap().add(&jobs).unwrap();
        let line = result_line(
            "a",
            200,
            Some("rid-a"),
            &json!({"usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
        );
        std::fs::write(dir.join("results.jsonl"), format!("{line}\n")).unwrap();
        let report = run(
            &client,
            jobs,
            &dir,
            BatchOptions::default(),
            std::future::pending(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(report.summary.done, 2);
        assert_eq!(report.sent, 1, "only b was sent");
        assert_eq!(emulator.requests().len(), 1);
        // a's usage came from its line; b's from the emulator (1 prompt word, "You said: x").
        assert_eq!(report.summary.usage.total_tokens, 3 + 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shards_split_without_overlap() {
        let jobs: Vec<Job> = (0..1000)
            .map(|i| Job {
                line: i + 1,
                custom_id: format!("job-{i}"),
                kind: JobKind::Chat,
                body: Map::new(),
            })
            .collect();
        let mut total = 0;
        for k in 0..3 {
            let part = shard(jobs.clone(), k, 3);
            assert!(part.len() > 250, "{}", part.len());
            total += part.len();
        }
        assert_eq!(total, 1000);
    }
}

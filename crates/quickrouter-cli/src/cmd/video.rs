//! `quickrouter video create|status|wait|download`: video tasks on every surface.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use futures_util::StreamExt;
use quickrouter::chat::video::MediaKind;
use quickrouter::videos::{ImageInput, VideoApi, VideoRequest, VideoTask, WaitOptions};
use quickrouter::{Client, Error, ENV_VIDEO_MODEL};
use serde_json::{Map, Value};

use crate::args::{request_file, seconds, Env, Input, OutputFormat};
use crate::exit::{Code, Failure};
use crate::output::Ui;

#[derive(Debug, Args)]
#[command(next_help_heading = "Video options")]
pub struct VideoArgs {
    /// Which surface the task or id belongs to
    #[arg(long, global = true, value_enum, default_value = "unified")]
    pub api: ApiArg,
    /// Seconds between polls (default 5; the relay's openai-poll-after-ms sets the pace when
    /// this is not given)
    #[arg(long, global = true, value_name = "SECS")]
    pub poll_interval: Option<f64>,
    /// The longest wait for a task to finish, in seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "1800")]
    pub max_wait: f64,
    #[command(subcommand)]
    pub command: VideoCommand,
}

/// `--api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    /// QuickRouter's unified task API (/video/create, /video/query)
    Unified,
    /// The OpenAI-format routes (/videos, /videos/{id}, /videos/{id}/content)
    Openai,
    /// Video models served through chat (/chat/completions)
    Chat,
}

impl From<ApiArg> for VideoApi {
    fn from(value: ApiArg) -> Self {
        match value {
            ApiArg::Unified => VideoApi::Unified,
            ApiArg::Openai => VideoApi::OpenAi,
            ApiArg::Chat => VideoApi::Chat,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum VideoCommand {
    /// Create a video; wait for it, show progress, print its URL (or download it)
    Create(CreateArgs),
    /// Print a task's state: ID, STATUS, PROGRESS, URL (tab-separated)
    Status {
        /// The task id
        id: String,
    },
    /// Wait for a task to finish, then print its URL (or download it)
    Wait {
        /// The task id
        id: String,
        /// Save the video into DIR (created if missing)
        #[arg(long, value_name = "DIR")]
        download: Option<PathBuf>,
    },
    /// Download a finished task's video into DIR
    Download {
        /// The task id
        id: String,
        /// Where to save it (created if missing)
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The prompt (words joined by spaces); none or '-' reads stdin
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// The model [env: QUICKROUTER_VIDEO_MODEL]
    #[arg(short, long)]
    pub model: Option<String>,
    /// A reference image: a URL, or a local file (repeatable)
    #[arg(long, value_name = "URL|FILE")]
    pub image: Vec<String>,
    /// The aspect ratio, e.g. 16:9 or 9:16
    #[arg(long, value_name = "RATIO")]
    pub aspect_ratio: Option<String>,
    /// The size, e.g. 1280x720
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// The length in seconds
    #[arg(long, value_name = "N")]
    pub seconds: Option<u32>,
    /// A whole JSON request body (FILE, or - for stdin); flags override its fields, unknown
    /// fields pass through untouched
    #[arg(long, value_name = "FILE|-")]
    pub request: Option<String>,
    /// Print the task id and exit without waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Save the video into DIR (created if missing)
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
}

/// A video command, validated.
#[derive(Debug)]
pub struct VideoSettings {
    api: VideoApi,
    wait: WaitOptions,
    max_wait: f64,
    action: Action,
}

#[derive(Debug)]
enum Action {
    Create {
        request: Box<VideoRequest>,
        no_wait: bool,
        download: Option<PathBuf>,
    },
    Status(String),
    Wait(String, Option<PathBuf>),
    Download(String, PathBuf),
}

impl VideoArgs {
    /// Validate everything local before anything is sent.
    pub fn settings(&self, env: &dyn Env, input: &mut dyn Input) -> Result<VideoSettings, Failure> {
        let api = VideoApi::from(self.api);
        let interval = self
            .poll_interval
            .map(|s| seconds("--poll-interval", s))
            .transpose()?;
        let max_wait = seconds("--max-wait", self.max_wait)?;
        let chat_only = |what: &str| {
            Failure::usage(format!(
                "{what} is not possible with --api chat: a video made through chat lives in its stream"
            ))
        };
        let action = match &self.command {
            VideoCommand::Create(args) => {
                if args.no_wait && api == VideoApi::Chat {
                    return Err(chat_only("--no-wait"));
                }
                Action::Create {
                    request: Box::new(args.request(env, input)?),
                    no_wait: args.no_wait,
                    download: args.download.clone(),
                }
            }
            VideoCommand::Status { .. } if api == VideoApi::Chat => {
                return Err(chat_only("video status"))
            }
            VideoCommand::Wait { .. } if api == VideoApi::Chat => {
                return Err(chat_only("video wait"))
            }
            VideoCommand::Download { .. } if api == VideoApi::Chat => {
                return Err(chat_only("video download"))
            }
            VideoCommand::Status { id } => Action::Status(task_id(id)?),
            VideoCommand::Wait { id, download } => Action::Wait(task_id(id)?, download.clone()),
            VideoCommand::Download { id, dir } => Action::Download(task_id(id)?, dir.clone()),
        };
        Ok(VideoSettings {
            api,
            wait: WaitOptions {
                interval,
                max_wait,
                ..WaitOptions::default()
            },
            max_wait: self.max_wait,
            action,
        })
    }
}

fn task_id(id: &str) -> Result<String, Failure> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Failure::usage("empty task id"));
    }
    Ok(id.to_owned())
}

impl CreateArgs {
    fn request(&self, env: &dyn Env, input: &mut dyn Input) -> Result<VideoRequest, Failure> {
        let mut extra = request_file(self.request.as_deref(), input)?;
        let model = self
            .model
            .clone()
            .or_else(|| {
                extra
                    .get("model")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| env.var(ENV_VIDEO_MODEL))
            .ok_or_else(|| {
                Failure::usage(format!(
                    "no video model: pass -m MODEL, name one in --request, or set {ENV_VIDEO_MODEL}"
                ))
            })?;
        let prompt = match crate::args::prompt(&self.prompt, self.request.as_deref(), input)? {
            Some(prompt) => prompt,
            None => match extra.get("prompt").and_then(Value::as_str) {
                Some(p) if !p.trim().is_empty() => p.to_owned(),
                _ => {
                    return Err(Failure::usage(
                        "no prompt: give words, pipe text, or a --request with a prompt",
                    ))
                }
            },
        };
        let mut images = Vec::new();
        for image in &self.image {
            let parsed = ImageInput::parse(image);
            if let ImageInput::File(path) = &parsed {
                std::fs::File::open(path)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
            }
            images.push(parsed);
        }
        extra.remove("model");
        extra.remove("prompt");
        let mut request = VideoRequest::new(model, prompt);
        request.images = images;
        request.aspect_ratio = self.aspect_ratio.clone();
        request.size = self.size.clone();
        request.seconds = self.seconds;
        request.extra = extra;
        Ok(request)
    }
}

/// Run a video command.
pub async fn run(
    client: &Client,
    settings: VideoSettings,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    let videos = client.videos().api(settings.api);
    let api_flag = match settings.api {
        VideoApi::Unified => String::new(),
        other => format!(" --api {other}"),
    };
    match settings.action {
        Action::Create {
            request,
            no_wait,
            download,
        } => {
            if settings.api == VideoApi::Chat {
                return create_through_chat(client, &request, download.as_deref(), format, ui)
                    .await;
            }
            let created = videos
                .create(&request)
                .await
                .map_err(|e| Failure::from_error(&e))?;
            let resume = format!("quickrouter video wait{api_flag} '{}'", created.id);
            ui.note(&format!(
                "task {} created (resume with: {resume})",
                created.id
            ));
            ui.set_interrupt_hint(&format!(
                "task {} goes on; resume with: {resume}",
                created.id
            ));
            if no_wait {
                match format {
                    OutputFormat::Text => ui.out(&format!("{}\n", created.id)),
                    OutputFormat::Json => crate::cmd::chat::print_raw(&created.raw, ui),
                    OutputFormat::Ndjson => crate::cmd::chat::print_line(&created.raw, ui),
                }
                return Ok(());
            }
            if format == OutputFormat::Ndjson {
                crate::cmd::chat::print_line(&created.raw, ui);
            }
            let poll = Poll {
                options: &settings.wait,
                max_wait: settings.max_wait,
                resume: &resume,
            };
            wait_and_finish(&videos, created, &poll, download.as_deref(), format, ui).await
        }
        Action::Status(id) => {
            let task = videos.get(&id).await.map_err(|e| Failure::from_error(&e))?;
            match format {
                OutputFormat::Text => ui.out(&format!(
                    "{}\t{}\t{}\t{}\n",
                    task.id,
                    task.status_text,
                    task.progress.map_or("-".to_owned(), |p| p.to_string()),
                    task.video_url.as_deref().unwrap_or("-")
                )),
                OutputFormat::Json => crate::cmd::chat::print_raw(&task.raw, ui),
                OutputFormat::Ndjson => crate::cmd::chat::print_line(&task.raw, ui),
            }
            Ok(())
        }
        Action::Wait(id, download) => {
            let resume = format!("quickrouter video wait{api_flag} '{id}'");
            ui.set_interrupt_hint(&format!("task {id} goes on; resume with: {resume}"));
            let first = videos.get(&id).await.map_err(|e| Failure::from_error(&e))?;
            let poll = Poll {
                options: &settings.wait,
                max_wait: settings.max_wait,
                resume: &resume,
            };
            wait_and_finish(&videos, first, &poll, download.as_deref(), format, ui).await
        }
        Action::Download(id, dir) => {
            let task = videos.get(&id).await.map_err(|e| Failure::from_error(&e))?;
            if !task.is_success() {
                // Not completed, whatever the reason (running, failed, cancelled): exit 5.
                return Err(Failure::new(
                    Code::ClientError,
                    format!(
                        "video task {} is not completed (status {}){}",
                        task.id,
                        task.status_text,
                        task.error
                            .as_ref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                ));
            }
            let path = download_task(&videos, &task, &dir, ui).await?;
            ui.note(&format!("saved {}", path.display()));
            Ok(())
        }
    }
}

/// How a wait polls, and what to say when it runs out.
struct Poll<'a> {
    options: &'a WaitOptions,
    max_wait: f64,
    resume: &'a str,
}

/// Wait for the task, then print (and save) it: what `create` and `wait` both end with.
async fn wait_and_finish(
    videos: &quickrouter::Videos<'_>,
    first: VideoTask,
    poll: &Poll<'_>,
    download: Option<&Path>,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    let finished = wait(videos, first, poll, format, ui).await?;
    finish(videos, &finished, download, format, ui).await
}

/// Poll until the task finishes, drawing its progress; the finished task (or a failure).
async fn wait(
    videos: &quickrouter::Videos<'_>,
    first: VideoTask,
    poll: &Poll<'_>,
    format: OutputFormat,
    ui: &Ui,
) -> Result<VideoTask, Failure> {
    let (options, max_wait, resume) = (poll.options, poll.max_wait, poll.resume);
    let bar = ui.task_bar(&first.id);
    let show = |task: &VideoTask| {
        bar.set_position(u64::from(task.progress.unwrap_or(0)));
        bar.set_message(task.status_text.clone());
    };
    show(&first);
    let mut last = first;
    if !last.is_terminal() {
        let mut updates = videos.wait(&last.id, options.clone());
        while let Some(update) = updates.next().await {
            match update {
                Ok(task) => {
                    show(&task);
                    if format == OutputFormat::Ndjson {
                        crate::cmd::chat::print_line(&task.raw, ui);
                    }
                    last = task;
                }
                Err(Error::Timeout(quickrouter::TimeoutKind::Deadline)) => {
                    bar.finish_and_clear();
                    return Err(Failure::new(
                        Code::Network,
                        format!(
                            "video task {} did not finish within {max_wait} s (last status {}); resume with: {resume}",
                            last.id, last.status_text
                        ),
                    ));
                }
                Err(e) => {
                    bar.finish_and_clear();
                    let mut failure = Failure::from_error(&e);
                    failure.message = format!("video task {}: {}", last.id, failure.message);
                    return Err(failure);
                }
            }
        }
    }
    bar.finish_and_clear();
    if last.is_failure() {
        if format == OutputFormat::Json {
            crate::cmd::chat::print_raw(&last.raw, ui);
        }
        let reason = last
            .error
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "the relay gave no reason".to_owned());
        return Err(Failure::new(
            Code::ServerError,
            format!(
                "video task {} {}: {reason}",
                last.id,
                if last.status.is_failure()
                    && last.status_text.to_ascii_lowercase().starts_with("cancel")
                {
                    "was cancelled"
                } else {
                    "failed"
                }
            ),
        ));
    }
    Ok(last)
}

/// Print (and save) a finished task.
async fn finish(
    videos: &quickrouter::Videos<'_>,
    task: &VideoTask,
    download: Option<&Path>,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Text => ui.out(&format!("{}\n", task.video_url.as_deref().unwrap_or("-"))),
        OutputFormat::Json => crate::cmd::chat::print_raw(&task.raw, ui),
        OutputFormat::Ndjson => {}
    }
    if let Some(dir) = download {
        let path = download_task(videos, task, dir, ui).await?;
        ui.note(&format!("saved {}", path.display()));
    }
    Ok(())
}

async fn download_task(
    videos: &quickrouter::Videos<'_>,
    task: &VideoTask,
    dir: &Path,
    ui: &Ui,
) -> Result<PathBuf, Failure> {
    let bar = ui.download_bar(&task.id);
    let result = videos
        .download_with(task, dir, None, &mut |p| show_download(&bar, p))
        .await;
    bar.finish_and_clear();
    result.map_err(|e| Failure::from_error(&e))
}

fn show_download(bar: &indicatif::ProgressBar, progress: quickrouter::download::Progress) {
    if let Some(total) = progress.total {
        bar.set_length(total);
    }
    bar.set_position(progress.received);
}

/// Save one media URL (no key, no headers) into `dir`, with a bar on a terminal.
pub async fn save(client: &Client, url: &str, dir: &Path, ui: &Ui) -> Result<PathBuf, Failure> {
    let bar = ui.download_bar(&quickrouter::download::file_name_for_url(url));
    let result =
        quickrouter::download::download_url(client, url, dir, &mut |p| show_download(&bar, p))
            .await;
    bar.finish_and_clear();
    result.map_err(|e| Failure::from_error(&e))
}

/// `--api chat`: stream the generation, progress from the prose, the link at the end.
async fn create_through_chat(
    client: &Client,
    request: &VideoRequest,
    download: Option<&Path>,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    let typed = request
        .to_chat_request()
        .map_err(|e| Failure::from_error(&e))?;
    let mut body: Map<String, Value> = request.extra.clone();
    if let Ok(Value::Object(fields)) = serde_json::to_value(&typed) {
        body.extend(fields);
    }
    // In text mode the stream's prose is progress (stderr) and only the link is printed; json
    // and ndjson print what chat prints.
    let found = if format == OutputFormat::Text {
        stream_quietly(client, &body, ui).await
    } else {
        crate::cmd::chat::stream(client, &body, format, true, true, ui).await
    };
    // An error event in a generation's stream is the generation failing (exit 6), not a
    // transport fault.
    let found = found.map_err(|mut failure| {
        if failure.error_event {
            failure.code = Code::ServerError;
            failure.message = format!("video generation failed: {}", failure.message);
        }
        failure
    })?;
    let video = found.media.iter().find(|m| m.kind == MediaKind::Video);
    let Some(video) = video else {
        let reason = found
            .failure
            .unwrap_or_else(|| "the answer holds no video link".to_owned());
        return Err(Failure::new(
            Code::ServerError,
            format!("video generation failed: {reason}"),
        ));
    };
    if format == OutputFormat::Text {
        ui.out(&format!("{}\n", video.url));
    }
    if let Some(dir) = download {
        let path = save(client, &video.url, dir, ui).await?;
        ui.note(&format!("saved {}", path.display()));
    }
    Ok(())
}

/// A chat stream whose prose becomes progress (on stderr), not output; the links and failure
/// note it held.
async fn stream_quietly(
    client: &Client,
    body: &Map<String, Value>,
    ui: &Ui,
) -> Result<crate::cmd::chat::Streamed, Failure> {
    use quickrouter::chat::video::{MediaScanner, ProgressTracker, VideoProgress};
    let mut tracker = ProgressTracker::new();
    let mut scanner = MediaScanner::new();
    let bar = ui.task_bar("chat");
    let stream = client.chat().stream(body).await.map_err(|e| {
        bar.finish_and_clear();
        Failure::from_error(&e)
    })?;
    let mut task_shown = false;
    let error = stream
        .drain(|chunk, _| {
            for note in tracker.push(chunk) {
                if let VideoProgress::Queued { text, .. }
                | VideoProgress::Percent { text, .. }
                | VideoProgress::Status { text } = &note
                {
                    bar.set_message(text.clone());
                }
            }
            if let Some(p) = tracker.percent() {
                bar.set_position(p as u64);
            }
            if let (false, Some(id)) = (task_shown, tracker.task_id()) {
                task_shown = true;
                ui.note(&format!("task {id}"));
            }
            for choice in &chunk.choices {
                if let Some(content) = &choice.delta.content {
                    scanner.push(content);
                }
            }
        })
        .await;
    bar.finish_and_clear();
    if let Some(e) = error {
        return Err(Failure::from_error(&e));
    }
    let (media, failure) = scanner.finish();
    Ok(crate::cmd::chat::Streamed { media, failure })
}

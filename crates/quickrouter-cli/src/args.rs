//! Arguments in two steps: the raw clap structs, then validated settings (ripgrep's lowargs ->
//! hiargs). Everything that can be wrong locally is found before anything is sent. The flags of
//! each command live with the command (`cmd/`); this file holds the global ones and the seams
//! (environment, input) every command shares.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use quickrouter::{ENV_API_KEY, ENV_BASE_URL, ENV_FORWARDED_HOST};

use crate::cmd;
use crate::exit::Failure;

const AFTER_HELP: &str = "\
Environment:
  QUICKROUTER_API_KEY         the API key (or --api-key)
  QUICKROUTER_BASE_URL        default https://api.quickrouter.ai/v1; a path prefix is kept
  QUICKROUTER_MODEL           the chat model when neither -m nor --request names one
                              (default gpt-4o-mini)
  QUICKROUTER_VIDEO_MODEL     the video model when neither -m nor --request names one
  QUICKROUTER_FORWARDED_HOST  sent as X-Forwarded-Host

Time limits: --timeout bounds each attempt until the response starts (a stream's head; a
document's whole body); --idle-timeout bounds each silence of a stream after that; --max-time
bounds everything, retries and their waits included. Without --max-time a request can take up to
(1 + --max-retries) x --timeout plus the waits between retries (at most 8 s each unless the server
asks for more).

Exit codes:
  0    ok
  1    a batch finished with some jobs failed
  2    usage or bad local input (bad flag, unreadable file, invalid JSON in --request/--tools,
       more than 4 --stop, malformed --logit-bias, missing API key, no video model); nothing is sent
  3    authentication or permission (401, 403 from the API)
  4    rate limit or quota (429 after retries; an exhausted quota whatever its status, never retried)
  5    other 4xx (also: downloading a video task that is not completed)
  6    5xx or upstream error, after retries; a video generation that failed or was cancelled
  7    network error or timeout (also: --max-wait passed while waiting for a video)
  8    stream broken (an error event mid-stream, a close before [DONE], a chunk that is not JSON)
  9    media download failed (the media host's error, a body that is not media, a cut that could
       not be resumed, a file that could not be written)
  130  interrupted (Ctrl-C)

Errors are one line on stderr: error: MESSAGE (status S, type T, code C, request id R).

Examples:
  quickrouter chat 'Say hi'
  echo 'long text' | quickrouter chat -m gpt-4o-mini 'Summarise:'
  quickrouter video create -m veo3.1-fast --download videos 'a cat surfing at dawn'
  quickrouter video status 'veo3.1-fast:1770350082-trii1OXZc3'
  quickrouter batch run jobs.jsonl --out out --concurrency 16
  quickrouter models";

/// The QuickRouter command-line client: chat, stream, video generation, models.
#[derive(Debug, Parser)]
#[command(name = "quickrouter", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the command name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The API base URL [env: QUICKROUTER_BASE_URL] [default: https://api.quickrouter.ai/v1]
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// The API key [env: QUICKROUTER_API_KEY]
    #[arg(long, global = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Send X-Forwarded-Host: HOST [env: QUICKROUTER_FORWARDED_HOST]
    #[arg(long, global = true, value_name = "HOST")]
    pub forwarded_host: Option<String>,
    /// An extra request header, 'Name: value' (repeatable; sent to the API only)
    #[arg(
        short = 'H',
        long = "header",
        global = true,
        value_name = "'NAME: VALUE'"
    )]
    pub headers: Vec<String>,
    /// Each attempt's limit until the response starts, in seconds (a stream's head, a document's
    /// whole body)
    #[arg(long, global = true, value_name = "SECS", default_value = "600")]
    pub timeout: f64,
    /// Longest silence between bytes of a stream, in seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "600")]
    pub idle_timeout: f64,
    /// The whole request's limit in seconds, retries and their waits included (default: none)
    #[arg(long, global = true, value_name = "SECS")]
    pub max_time: Option<f64>,
    /// Retries after the first try (429, 5xx, network errors)
    #[arg(long, global = true, value_name = "N", default_value = "2")]
    pub max_retries: u32,
    /// Print request and response lines and headers to stderr (the key redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// How to print the answer
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Hide reasoning, progress and the spinner
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The content as it arrives (reasoning and progress on stderr)
    Text,
    /// The final document as one JSON document (as the relay sent it, where it sent one)
    Json,
    /// Each chunk or update as one JSON line, as received
    Ndjson,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a prompt and print the answer (streamed by default)
    Chat(Box<cmd::chat::ChatArgs>),
    /// Make videos: create, status, wait, download (unified task API, OpenAI format, or chat)
    Video(Box<cmd::video::VideoArgs>),
    /// Run thousands of chat and video jobs from a JSONL file: resumable, rate-limit aware
    Batch(Box<cmd::batch::BatchArgs>),
    /// List the models (one id per line; --output json for the whole list)
    Models,
    /// Print shell completions
    Completions {
        /// bash, zsh or fish
        shell: cmd::completions::Shell,
    },
}

/// Connection settings, validated.
#[derive(Debug)]
pub struct Connection {
    pub base_url: String,
    pub api_key: Option<String>,
    pub forwarded_host: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub idle_timeout: Duration,
    pub max_time: Option<Duration>,
    pub max_retries: u32,
    pub verbose: bool,
}

/// Where the environment comes from (a seam for tests).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// A positive number of seconds.
pub fn seconds(flag: &str, value: f64) -> Result<Duration, Failure> {
    if !value.is_finite() || value <= 0.0 {
        return Err(Failure::usage(format!(
            "{flag} must be a positive number of seconds"
        )));
    }
    Ok(Duration::from_secs_f64(value.min(1e9)))
}

impl GlobalArgs {
    /// Validate the connection flags against the environment.
    pub fn connection(&self, env: &dyn Env) -> Result<Connection, Failure> {
        let headers = self
            .headers
            .iter()
            .map(|h| {
                let (name, value) = h.split_once(':').ok_or_else(|| {
                    Failure::usage(format!("invalid header {h:?}: expected 'Name: value'"))
                })?;
                let name = name.trim();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                    return Err(Failure::usage(format!("invalid header name {name:?}")));
                }
                Ok((name.to_owned(), value.trim().to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Connection {
            base_url: self
                .base_url
                .clone()
                .or_else(|| env.var(ENV_BASE_URL))
                .unwrap_or_else(|| quickrouter::transport::DEFAULT_BASE_URL.to_owned()),
            api_key: self
                .api_key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .or_else(|| env.var(ENV_API_KEY)),
            forwarded_host: self
                .forwarded_host
                .clone()
                .or_else(|| env.var(ENV_FORWARDED_HOST)),
            headers,
            timeout: seconds("--timeout", self.timeout)?,
            idle_timeout: seconds("--idle-timeout", self.idle_timeout)?,
            max_time: self
                .max_time
                .map(|t| seconds("--max-time", t))
                .transpose()?,
            max_retries: self.max_retries,
            verbose: self.verbose,
        })
    }
}

/// Reads local input: files and standard input (a seam for tests).
pub trait Input {
    /// The whole of standard input.
    fn stdin(&mut self) -> Result<String, Failure>;
    /// Whether standard input is piped or redirected from a file (so words + stdin combine).
    fn stdin_is_piped(&self) -> bool;
    /// A file's text.
    fn file(&mut self, path: &std::path::Path) -> Result<String, Failure> {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
    }
}

/// A `--request FILE|-` body: a JSON object, read whole.
pub fn request_file(
    source: Option<&str>,
    input: &mut dyn Input,
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let Some(source) = source else {
        return Ok(serde_json::Map::new());
    };
    let (text, name) = if source == "-" {
        (input.stdin()?, "standard input".to_owned())
    } else {
        (input.file(std::path::Path::new(source))?, source.to_owned())
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "--request {name} must hold a JSON object"
        ))),
        Err(e) => Err(Failure::usage(format!(
            "invalid JSON in --request {name}: {e}"
        ))),
    }
}

/// The prompt from words, stdin, or both (`None` when a `--request` body supplies it and no words
/// were given). Words and piped stdin send the words, a blank line, then stdin.
pub fn prompt(
    words: &[String],
    request: Option<&str>,
    input: &mut dyn Input,
) -> Result<Option<String>, Failure> {
    let has_words = !(words.is_empty() || words == ["-"]);
    let from_request = request.is_some();
    let prompt = if has_words {
        let words = words.join(" ");
        if !from_request && input.stdin_is_piped() {
            let piped = input.stdin()?;
            if piped.trim().is_empty() {
                Some(words)
            } else {
                Some(format!("{words}\n\n{piped}"))
            }
        } else {
            Some(words)
        }
    } else if from_request && words.is_empty() {
        None
    } else if request == Some("-") {
        return Err(Failure::usage(
            "--request - already reads standard input; give the prompt as words",
        ));
    } else {
        Some(input.stdin()?)
    };
    if prompt.as_ref().is_some_and(|p| p.trim().is_empty()) {
        return Err(Failure::usage(
            "empty prompt: give words, or pipe text on standard input",
        ));
    }
    Ok(prompt)
}

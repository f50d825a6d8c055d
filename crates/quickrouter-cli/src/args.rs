//! Arguments in two steps: the raw clap structs, then a validated [`Settings`] (ripgrep's
//! lowargs -> hiargs). Everything that can be wrong locally is found here, before anything is sent.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use crate::exit::Failure;

const AFTER_HELP: &str = "\
Environment:
  QUICKROUTER_API_KEY         the API key (or --api-key)
  QUICKROUTER_BASE_URL        default https://api.quickrouter.ai/v1; a path prefix is kept
  QUICKROUTER_MODEL           the model when neither -m nor --request names one
                              (default gpt-4o-mini)
  QUICKROUTER_FORWARDED_HOST  sent as X-Forwarded-Host

Exit codes:
  0  ok
  2  usage or bad local input (bad flag, unreadable file, invalid JSON in --request/--tools,
     more than 4 --stop, malformed --logit-bias, missing API key); nothing is sent
  3  authentication or permission (401, 403)
  4  rate limit or quota (429 after retries; an exhausted quota whatever its status, never retried)
  5  other 4xx
  6  5xx or upstream error (after retries)
  7  network error or timeout
  8  stream broken (an error event mid-stream, a close before [DONE], a chunk that is not JSON)

Errors are one line on stderr: error: MESSAGE (status S, type T, code C, request id R).

Examples:
  quickrouter chat 'Say hi'
  echo 'long text' | quickrouter chat -m gpt-4o-mini 'Summarise:'
  quickrouter chat -m sora-2 --download videos 'a cat surfing at dawn'
  quickrouter models";

/// The QuickRouter command-line client: chat, stream, sora-2 video, models.
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
    /// An extra request header, 'Name: value' (repeatable)
    #[arg(
        short = 'H',
        long = "header",
        global = true,
        value_name = "'NAME: VALUE'"
    )]
    pub headers: Vec<String>,
    /// Whole-request timeout in seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "600")]
    pub timeout: f64,
    /// Longest silence between bytes of a stream, in seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "600")]
    pub idle_timeout: f64,
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
    /// The final completion as one JSON document
    Json,
    /// Each chunk as one JSON line, as received
    Ndjson,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a prompt and print the answer (streamed by default)
    Chat(Box<ChatArgs>),
    /// List the models (one id per line; --output json for the whole list)
    Models,
    /// Print shell completions
    Completions {
        /// bash, zsh or fish
        shell: Shell,
    },
}

/// Shells with completions.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt (words joined by spaces); none or '-' reads stdin; words and piped stdin send
    /// the words, a blank line, then stdin
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// The model [env: QUICKROUTER_MODEL]
    #[arg(short, long)]
    pub model: Option<String>,
    /// A system message
    #[arg(short, long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Sampling temperature (0 to 2)
    #[arg(long, value_name = "F")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass (0 to 1)
    #[arg(long, value_name = "F")]
    pub top_p: Option<f64>,
    /// How many choices to generate
    #[arg(short = 'n', value_name = "N")]
    pub n: Option<u32>,
    /// The most tokens to generate
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// A stop sequence (repeatable, at most 4)
    #[arg(long, value_name = "S")]
    pub stop: Vec<String>,
    /// Sampling seed
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<i64>,
    /// Presence penalty (-2 to 2)
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty (-2 to 2)
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub frequency_penalty: Option<f64>,
    /// Bias a token, TOKEN=BIAS with BIAS from -100 to 100 (repeatable)
    #[arg(long, value_name = "TOKEN=BIAS", allow_hyphen_values = true)]
    pub logit_bias: Vec<String>,
    /// An id for your end user
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// Ask for a JSON object (response_format json_object)
    #[arg(long)]
    pub json_object: bool,
    /// A JSON file holding an array of tools
    #[arg(long, value_name = "FILE")]
    pub tools: Option<PathBuf>,
    /// none, auto, required, or the name of the function to call
    #[arg(long, value_name = "none|auto|required|NAME")]
    pub tool_choice: Option<String>,
    /// Ask for a final usage chunk (stream_options.include_usage)
    #[arg(long)]
    pub include_usage: bool,
    /// A whole JSON request body (FILE, or - for stdin); flags override its fields, unknown
    /// fields pass through untouched
    #[arg(long, value_name = "FILE|-")]
    pub request: Option<String>,
    /// Send stream: false and print the whole answer at once
    #[arg(long)]
    pub no_stream: bool,
    /// Download every media link (mp4, webm, mov, png, jpg, gif, webp) of the answer into DIR
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
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
    pub max_retries: u32,
    pub verbose: bool,
}

/// A chat request, validated.
#[derive(Debug)]
pub struct ChatSettings {
    pub body: Map<String, Value>,
    pub stream: bool,
    pub download: Option<PathBuf>,
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

fn seconds(flag: &str, value: f64) -> Result<Duration, Failure> {
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
                .or_else(|| env.var("QUICKROUTER_BASE_URL"))
                .unwrap_or_else(|| quickrouter::transport::client::DEFAULT_BASE_URL.to_owned()),
            api_key: self
                .api_key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .or_else(|| env.var("QUICKROUTER_API_KEY")),
            forwarded_host: self
                .forwarded_host
                .clone()
                .or_else(|| env.var("QUICKROUTER_FORWARDED_HOST")),
            headers,
            timeout: seconds("--timeout", self.timeout)?,
            idle_timeout: seconds("--idle-timeout", self.idle_timeout)?,
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

impl ChatArgs {
    /// Validate the chat flags and build the request body.
    pub fn settings(&self, env: &dyn Env, input: &mut dyn Input) -> Result<ChatSettings, Failure> {
        if self.stop.len() > 4 {
            return Err(Failure::usage(format!(
                "at most 4 --stop sequences, got {}",
                self.stop.len()
            )));
        }
        let logit_bias = self
            .logit_bias
            .iter()
            .map(|pair| {
                let bad = || Failure::usage(format!("invalid --logit-bias {pair:?}: expected TOKEN=BIAS with BIAS from -100 to 100"));
                let (token, bias) = pair.split_once('=').ok_or_else(bad)?;
                let token = token.trim();
                let bias: f64 = bias.trim().parse().map_err(|_| bad())?;
                if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) || !(-100.0..=100.0).contains(&bias) {
                    return Err(bad());
                }
                Ok((token.to_owned(), json!(bias)))
            })
            .collect::<Result<Map<_, _>, _>>()?;
        let tools = match &self.tools {
            Some(path) => {
                let text = input.file(path)?;
                let value: Value = serde_json::from_str(&text).map_err(|e| {
                    Failure::usage(format!("invalid JSON in --tools {}: {e}", path.display()))
                })?;
                if !value.is_array() {
                    return Err(Failure::usage(format!(
                        "--tools {} must hold a JSON array of tools",
                        path.display()
                    )));
                }
                Some(value)
            }
            None => None,
        };
        let tool_choice = self.tool_choice.as_deref().map(|choice| match choice {
            "none" | "auto" | "required" => json!(choice),
            name => json!({"type": "function", "function": {"name": name}}),
        });

        let prompt_words = !(self.prompt.is_empty() || self.prompt == ["-"]);
        let mut body = match self.request.as_deref() {
            Some(source) => {
                let (text, name) = if source == "-" {
                    (input.stdin()?, "standard input".to_owned())
                } else {
                    (input.file(std::path::Path::new(source))?, source.to_owned())
                };
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => map,
                    Ok(_) => {
                        return Err(Failure::usage(format!(
                            "--request {name} must hold a JSON object"
                        )))
                    }
                    Err(e) => {
                        return Err(Failure::usage(format!(
                            "invalid JSON in --request {name}: {e}"
                        )))
                    }
                }
            }
            None => Map::new(),
        };

        // The prompt: words, stdin, or both; none at all when --request supplies the messages.
        let from_request = self.request.is_some();
        let prompt = if prompt_words {
            let words = self.prompt.join(" ");
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
        } else if from_request && self.prompt.is_empty() {
            None
        } else if self.request.as_deref() == Some("-") {
            return Err(Failure::usage(
                "--request - already reads standard input; give the prompt as words",
            ));
        } else {
            Some(input.stdin()?)
        };
        if let Some(p) = &prompt {
            if p.trim().is_empty() {
                return Err(Failure::usage(
                    "empty prompt: give words, or pipe text on standard input",
                ));
            }
        }

        let mut messages = match body.remove("messages") {
            Some(Value::Array(items)) => items,
            None => Vec::new(),
            Some(_) => return Err(Failure::usage("--request: \"messages\" must be an array")),
        };
        if let Some(system) = &self.system {
            let message = json!({"role": "system", "content": system});
            match messages.first_mut() {
                Some(first) if first["role"] == "system" => *first = message,
                _ => messages.insert(0, message),
            }
        }
        if let Some(prompt) = prompt {
            messages.push(json!({"role": "user", "content": prompt}));
        }
        if messages.is_empty() {
            return Err(Failure::usage(
                "no messages: give a prompt, or a --request with messages",
            ));
        }
        body.insert("messages".into(), Value::Array(messages));

        let model = self
            .model
            .clone()
            .or_else(|| body.get("model").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| env.var("QUICKROUTER_MODEL"))
            .unwrap_or_else(|| "gpt-4o-mini".to_owned());
        body.insert("model".into(), json!(model));

        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.to_owned(), value);
            }
        };
        set("temperature", self.temperature.map(|v| json!(v)));
        set("top_p", self.top_p.map(|v| json!(v)));
        set("n", self.n.map(|v| json!(v)));
        set("max_tokens", self.max_tokens.map(|v| json!(v)));
        set("stop", (!self.stop.is_empty()).then(|| json!(self.stop)));
        set("seed", self.seed.map(|v| json!(v)));
        set("presence_penalty", self.presence_penalty.map(|v| json!(v)));
        set(
            "frequency_penalty",
            self.frequency_penalty.map(|v| json!(v)),
        );
        set(
            "logit_bias",
            (!logit_bias.is_empty()).then_some(Value::Object(logit_bias)),
        );
        set("user", self.user.clone().map(Value::String));
        set(
            "response_format",
            self.json_object.then(|| json!({"type": "json_object"})),
        );
        set("tools", tools);
        set("tool_choice", tool_choice);
        set(
            "stream_options",
            self.include_usage.then(|| json!({"include_usage": true})),
        );

        let stream = if self.no_stream {
            false
        } else {
            // The default is to stream, unless the --request file says otherwise.
            body.get("stream").and_then(Value::as_bool).unwrap_or(true)
        };
        body.insert("stream".into(), json!(stream));
        Ok(ChatSettings {
            body,
            stream,
            download: self.download.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    struct FakeInput {
        stdin: Option<String>,
        files: HashMap<&'static str, &'static str>,
    }
    impl Input for FakeInput {
        fn stdin(&mut self) -> Result<String, Failure> {
            Ok(self.stdin.take().unwrap_or_default())
        }
        fn stdin_is_piped(&self) -> bool {
            self.stdin.is_some()
        }
        fn file(&mut self, path: &std::path::Path) -> Result<String, Failure> {
            self.files
                .get(path.to_str().unwrap())
                .map(|s| s.to_string())
                .ok_or_else(|| Failure::usage(format!("cannot read {}", path.display())))
        }
    }

    fn settings(
        args: &[&str],
        stdin: Option<&str>,
        files: &[(&'static str, &'static str)],
    ) -> Result<ChatSettings, Failure> {
        let cli = Cli::try_parse_from(["quickrouter", "chat"].iter().chain(args))
            .map_err(|e| Failure::usage(e.to_string()))?;
        let Command::Chat(chat) = cli.command else {
            unreachable!()
        };
        let mut input = FakeInput {
            stdin: stdin.map(str::to_owned),
            files: files.iter().copied().collect(),
        };
        chat.settings(
            &FakeEnv(HashMap::from([("QUICKROUTER_MODEL", "env-model")])),
            &mut input,
        )
    }

    #[test]
    fn prompt_sources() {
        let user = |s: &ChatSettings| {
            s.body["messages"].as_array().unwrap().last().unwrap()["content"].clone()
        };
        assert_eq!(
            user(&settings(&["hello", "world"], None, &[]).unwrap()),
            json!("hello world")
        );
        assert_eq!(
            user(&settings(&[], Some("from stdin"), &[]).unwrap()),
            json!("from stdin")
        );
        assert_eq!(
            user(&settings(&["-"], Some("dash"), &[]).unwrap()),
            json!("dash")
        );
        assert_eq!(
            user(&settings(&["Summarise:"], Some("text\n"), &[]).unwrap()),
            json!("Summarise:\n\ntext\n")
        );
        assert!(settings(&[], Some("  "), &[]).is_err());
    }

    #[test]
    fn flags_override_the_request_file_and_unknown_fields_pass() {
        let file = r#"{"model": "file-model", "messages": [{"role": "system", "content": "old"}, {"role": "user", "content": "hi", "x_cache": true}], "top_k": 40, "temperature": 1}"#;
        let s = settings(
            &["--request", "req.json", "--temperature", "0.5", "-s", "new"],
            None,
            &[("req.json", file)],
        )
        .unwrap();
        assert_eq!(s.body["model"], "file-model");
        assert_eq!(s.body["top_k"], 40);
        assert_eq!(s.body["temperature"], 0.5);
        assert_eq!(
            s.body["messages"],
            json!([{"role": "system", "content": "new"}, {"role": "user", "content": "hi", "x_cache": true}])
        );
        let s = settings(
            &["-m", "flag-model", "--request", "req.json"],
            None,
            &[("req.json", file)],
        )
        .unwrap();
        assert_eq!(s.body["model"], "flag-model");
        assert_eq!(
            settings(&["hi"], None, &[]).unwrap().body["model"],
            "env-model"
        );
    }

    #[test]
    fn local_input_errors() {
        for (args, files) in [
            (
                &[
                    "--stop", "a", "--stop", "b", "--stop", "c", "--stop", "d", "--stop", "e", "hi",
                ][..],
                &[][..],
            ),
            (&["--logit-bias", "50256", "hi"][..], &[]),
            (&["--logit-bias", "50256=101", "hi"][..], &[]),
            (&["--logit-bias", "abc=1", "hi"][..], &[]),
            (&["--tools", "missing.json", "hi"][..], &[]),
            (&["--tools", "t.json", "hi"][..], &[("t.json", "{not json")]),
            (&["--tools", "t.json", "hi"][..], &[("t.json", "{}")]),
            (&["--request", "r.json"][..], &[("r.json", "[1]")]),
            (
                &["--request", "r.json"][..],
                &[("r.json", "{\"model\": \"m\"}")],
            ),
        ] {
            let result = settings(args, None, files);
            assert!(result.is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn every_flag_reaches_the_body() {
        let s = settings(
            &[
                "-m",
                "m",
                "--temperature",
                "0.7",
                "--top-p",
                "0.9",
                "-n",
                "2",
                "--max-tokens",
                "5",
                "--stop",
                "x",
                "--seed",
                "-3",
                "--presence-penalty",
                "-0.5",
                "--frequency-penalty",
                "0.5",
                "--logit-bias",
                "50256=-100",
                "--user",
                "u",
                "--json-object",
                "--tool-choice",
                "get_weather",
                "--include-usage",
                "--no-stream",
                "hi",
            ],
            None,
            &[],
        )
        .unwrap();
        let body = Value::Object(s.body);
        assert_eq!(
            body,
            json!({
                "model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.7, "top_p": 0.9, "n": 2,
                "max_tokens": 5, "stop": ["x"], "seed": -3, "presence_penalty": -0.5, "frequency_penalty": 0.5,
                "logit_bias": {"50256": -100.0}, "user": "u", "response_format": {"type": "json_object"},
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "stream_options": {"include_usage": true}, "stream": false
            })
        );
    }
}

//! `quickrouter chat`: flags -> the library's typed request (a `--request` body laid under it),
//! then stream, print as it arrives, assemble, download.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use quickrouter::chat::video::{Media, MediaScanner, ProgressTracker};
use quickrouter::types::{ChatCompletion, Choice, ToolChoice};
use quickrouter::{
    ChatCompletionChunk, ChatMessage, Client, CompletionAccumulator, CreateChatCompletionRequest,
    DEFAULT_MODEL, ENV_MODEL,
};
use serde_json::{Map, Value};

use crate::args::{request_file, Env, Input, OutputFormat};
use crate::exit::{Code, Failure};
use crate::output::Ui;

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
    /// Bias a token, TOKEN=BIAS with BIAS an integer from -100 to 100 (repeatable)
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

/// A chat request, validated: the body to send and how.
#[derive(Debug)]
pub struct ChatSettings {
    pub body: Map<String, Value>,
    pub stream: bool,
    pub download: Option<PathBuf>,
}

impl ChatArgs {
    /// The typed request the flags describe (no messages: those are assembled with the
    /// `--request` body's own, which may carry fields this crate does not know).
    pub fn typed(&self, model: String) -> Result<CreateChatCompletionRequest, Failure> {
        if self.stop.len() > 4 {
            return Err(Failure::usage(format!(
                "at most 4 --stop sequences, got {}",
                self.stop.len()
            )));
        }
        let mut request = CreateChatCompletionRequest::new(model, []);
        for pair in &self.logit_bias {
            let bad = || {
                Failure::usage(format!(
                    "invalid --logit-bias {pair:?}: expected TOKEN=BIAS with BIAS an integer from -100 to 100"
                ))
            };
            let (token, bias) = pair.split_once('=').ok_or_else(bad)?;
            let token = token.trim();
            let bias: i32 = bias.trim().parse().map_err(|_| bad())?;
            if token.is_empty()
                || !token.bytes().all(|b| b.is_ascii_digit())
                || !(-100..=100).contains(&bias)
            {
                return Err(bad());
            }
            request = request.logit_bias(token, bias);
        }
        if let Some(v) = self.temperature {
            request = request.temperature(v);
        }
        if let Some(v) = self.top_p {
            request = request.top_p(v);
        }
        if let Some(v) = self.n {
            request = request.n(v);
        }
        if let Some(v) = self.max_tokens {
            request = request.max_tokens(v);
        }
        if !self.stop.is_empty() {
            request = request.stop(self.stop.clone());
        }
        if let Some(v) = self.seed {
            request = request.seed(v);
        }
        if let Some(v) = self.presence_penalty {
            request = request.presence_penalty(v);
        }
        if let Some(v) = self.frequency_penalty {
            request = request.frequency_penalty(v);
        }
        if let Some(v) = &self.user {
            request = request.user(v.clone());
        }
        if self.json_object {
            request = request.json_object();
        }
        if let Some(choice) = self.tool_choice.as_deref() {
            request = request.tool_choice(match choice {
                "none" => ToolChoice::NONE,
                "auto" => ToolChoice::AUTO,
                "required" => ToolChoice::REQUIRED,
                name => ToolChoice::function(name),
            });
        }
        if self.include_usage {
            request = request.include_usage(true);
        }
        Ok(request)
    }

    /// Validate the chat flags and build the request body: the `--request` body, the typed
    /// request's fields laid over it, the messages assembled.
    pub fn settings(&self, env: &dyn Env, input: &mut dyn Input) -> Result<ChatSettings, Failure> {
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
        let mut body = request_file(self.request.as_deref(), input)?;
        let model = self
            .model
            .clone()
            .or_else(|| body.get("model").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| env.var(ENV_MODEL))
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let typed = self.typed(model)?;
        let prompt = crate::args::prompt(&self.prompt, self.request.as_deref(), input)?;

        let mut messages = match body.remove("messages") {
            Some(Value::Array(items)) => items,
            None => Vec::new(),
            Some(_) => return Err(Failure::usage("--request: \"messages\" must be an array")),
        };
        if let Some(system) = &self.system {
            let message = to_value(&ChatMessage::system(system.clone()));
            match messages.first_mut() {
                Some(first) if first["role"] == "system" => *first = message,
                _ => messages.insert(0, message),
            }
        }
        if let Some(prompt) = prompt {
            messages.push(to_value(&ChatMessage::user(prompt)));
        }
        if messages.is_empty() {
            return Err(Failure::usage(
                "no messages: give a prompt, or a --request with messages",
            ));
        }
        match serde_json::to_value(&typed) {
            Ok(Value::Object(fields)) => {
                for (key, value) in fields {
                    if key != "messages" {
                        body.insert(key, value);
                    }
                }
            }
            _ => return Err(Failure::usage("could not serialize the request")),
        }
        body.insert("messages".into(), Value::Array(messages));
        if let Some(tools) = tools {
            body.insert("tools".into(), tools);
        }
        let stream = if self.no_stream {
            false
        } else {
            // The default is to stream, unless the --request file says otherwise.
            body.get("stream").and_then(Value::as_bool).unwrap_or(true)
        };
        // `--no-stream` says `stream: false` aloud (the library keeps a `stream` the body names).
        body.insert("stream".into(), Value::Bool(stream));
        Ok(ChatSettings {
            body,
            stream,
            download: self.download.clone(),
        })
    }
}

fn to_value(message: &ChatMessage) -> Value {
    serde_json::to_value(message).unwrap_or(Value::Null)
}

/// Run one chat request.
pub async fn run(
    client: &Client,
    settings: ChatSettings,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    let scan = settings.download.is_some();
    let found = if settings.stream {
        stream(client, &settings.body, format, false, scan, ui).await?
    } else {
        let answer = client
            .chat()
            .create_with_response(&settings.body)
            .await
            .map_err(|e| Failure::from_error(&e))?;
        print_whole(&answer.value, &answer.raw, format, ui);
        Streamed::from_completion(answer.value)
    };
    if let Some(dir) = &settings.download {
        download_all(client, &found.media, found.failure, dir, ui).await?;
    }
    Ok(())
}

/// What a stream left behind once printed: the media links and failure note found in its text
/// (when asked to look). The text itself is not held (see [`stream`]).
pub struct Streamed {
    pub media: Vec<Media>,
    pub failure: Option<String>,
}

impl Streamed {
    fn from_completion(completion: ChatCompletion) -> Self {
        let mut scanner = MediaScanner::new();
        for choice in &completion.choices {
            scanner.push(choice.message.content.as_deref().unwrap_or_default());
            scanner.push("\n");
        }
        let (media, failure) = scanner.finish();
        Self { media, failure }
    }
}

/// Stream, printing as chunks arrive. Memory follows the output mode, not the answer's length:
/// `text` and `ndjson` hold no text (links and a failure note are found as the text streams by,
/// with `scan_media`); `json` holds the completion it prints. With `announce_task`, a line
/// `task ID` on stderr as soon as the prose names a task id (a video made through chat).
pub async fn stream(
    client: &Client,
    body: &Map<String, Value>,
    format: OutputFormat,
    announce_task: bool,
    scan_media: bool,
    ui: &Ui,
) -> Result<Streamed, Failure> {
    ui.start_spinner();
    let stream = match client.chat().stream(body).await {
        Ok(stream) => stream,
        Err(e) => {
            ui.stop_spinner();
            return Err(Failure::from_error(&e));
        }
    };
    let several = body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1);
    let mut text = TextPrinter {
        several,
        first_labelled: false,
        later: BTreeMap::new(),
    };
    let mut accumulator = if format == OutputFormat::Json {
        CompletionAccumulator::new()
    } else {
        CompletionAccumulator::without_text()
    };
    let mut scanner = MediaScanner::new();
    let mut tracker = ProgressTracker::new();
    let mut task_shown = false;
    let error = stream
        .drain(|chunk, raw| {
            tracker.push(chunk);
            if let Some(percent) = tracker.percent() {
                ui.set_percent(percent);
            }
            if let (true, false, Some(id)) = (announce_task, task_shown, tracker.task_id()) {
                task_shown = true;
                ui.note(&format!("task {id}"));
            }
            if scan_media {
                for choice in &chunk.choices {
                    if let Some(content) = &choice.delta.content {
                        scanner.push(content);
                    }
                }
            }
            match format {
                OutputFormat::Ndjson => {
                    ui.out(&String::from_utf8_lossy(raw));
                    ui.out("\n");
                }
                OutputFormat::Text => text.chunk(chunk, ui),
                OutputFormat::Json => {}
            }
            accumulator.push(chunk);
        })
        .await;
    ui.stop_spinner();
    let completion = accumulator.finish();
    match format {
        OutputFormat::Text => text.finish(&completion, ui),
        // What arrived is kept, even when the stream broke.
        OutputFormat::Json => print_json(&completion, ui),
        OutputFormat::Ndjson => {}
    }
    if let Some(error) = error {
        return Err(Failure::from_error(&error));
    }
    let (media, failure) = scanner.finish();
    Ok(Streamed { media, failure })
}

/// Text output of a stream: choice 0 live; with `n > 1`, labelled, the others after it.
struct TextPrinter {
    several: bool,
    first_labelled: bool,
    later: BTreeMap<u32, String>,
}

impl TextPrinter {
    fn chunk(&mut self, chunk: &ChatCompletionChunk, ui: &Ui) {
        for choice in &chunk.choices {
            if let Some(reasoning) = choice.delta.reasoning_text() {
                ui.reasoning(reasoning);
            }
            let Some(content) = choice.delta.content.as_deref().filter(|c| !c.is_empty()) else {
                continue;
            };
            if choice.index == 0 {
                if self.several && !self.first_labelled {
                    self.first_labelled = true;
                    ui.out("[choice 0]\n");
                }
                ui.out(content);
            } else {
                self.later
                    .entry(choice.index)
                    .or_default()
                    .push_str(content);
            }
        }
    }

    fn finish(self, completion: &ChatCompletion, ui: &Ui) {
        if let Some(first) = completion.choices.iter().find(|c| c.index == 0) {
            if self.several && !self.first_labelled {
                ui.out("[choice 0]\n");
            }
            print_tool_calls(first, ui);
        }
        for choice in completion.choices.iter().filter(|c| c.index != 0) {
            ui.finish_out();
            ui.out(&format!("\n[choice {}]\n", choice.index));
            ui.out(self.later.get(&choice.index).map_or("", String::as_str));
            print_tool_calls(choice, ui);
        }
        ui.finish_out();
    }
}

fn print_tool_calls(choice: &Choice, ui: &Ui) {
    for call in &choice.message.tool_calls {
        ui.finish_out();
        ui.out(&format!(
            "[tool call {}] {}({})\n",
            call.id, call.function.name, call.function.arguments
        ));
    }
}

/// An assembled completion, pretty.
pub fn print_json(completion: &ChatCompletion, ui: &Ui) {
    let text = serde_json::to_string_pretty(completion).unwrap_or_default();
    ui.out(&text);
    ui.out("\n");
}

/// A document the relay sent, every field kept (unknown ones too), pretty; a body that is not
/// JSON as it came.
pub fn print_raw(raw: &[u8], ui: &Ui) {
    match serde_json::from_slice::<Value>(raw) {
        Ok(value) => ui.out(&serde_json::to_string_pretty(&value).unwrap_or_default()),
        Err(_) => ui.out(String::from_utf8_lossy(raw).trim_end()),
    }
    ui.out("\n");
}

/// A document the relay sent as one JSON line (every field kept).
pub fn print_line(raw: &[u8], ui: &Ui) {
    match serde_json::from_slice::<Value>(raw) {
        Ok(value) => ui.out(&value.to_string()),
        Err(_) => ui.out(&String::from_utf8_lossy(raw).replace('\n', " ")),
    }
    ui.out("\n");
}

/// Print a non-stream answer.
fn print_whole(completion: &ChatCompletion, raw: &[u8], format: OutputFormat, ui: &Ui) {
    match format {
        OutputFormat::Json => print_raw(raw, ui),
        OutputFormat::Ndjson => print_line(raw, ui),
        OutputFormat::Text => {
            let several = completion.choices.len() > 1;
            for (i, choice) in completion.choices.iter().enumerate() {
                if let Some(reasoning) = &choice.message.reasoning_content {
                    ui.reasoning(reasoning);
                    if !reasoning.ends_with('\n') {
                        ui.reasoning("\n");
                    }
                }
                if several {
                    ui.finish_out();
                    ui.out(&format!(
                        "{}[choice {}]\n",
                        if i > 0 { "\n" } else { "" },
                        choice.index
                    ));
                }
                ui.out(choice.message.content.as_deref().unwrap_or_default());
                print_tool_calls(choice, ui);
            }
            ui.finish_out();
        }
    }
}

/// Download every media link the answer held into `dir`; an answer that was a failure note is
/// exit 6.
pub async fn download_all(
    client: &Client,
    media: &[Media],
    failure: Option<String>,
    dir: &std::path::Path,
    ui: &Ui,
) -> Result<(), Failure> {
    if media.is_empty() {
        return match failure {
            Some(failure) => Err(Failure::new(
                Code::ServerError,
                format!("generation failed: {failure}"),
            )),
            None => {
                ui.note("warning: the answer holds no media links; nothing downloaded");
                Ok(())
            }
        };
    }
    for item in media {
        let path = crate::cmd::video::save(client, &item.url, dir, ui).await?;
        ui.note(&format!("saved {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;
    use serde_json::json;
    use std::collections::HashMap;

    pub struct FakeEnv(pub HashMap<&'static str, &'static str>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    pub struct FakeInput {
        pub stdin: Option<String>,
        pub files: HashMap<&'static str, &'static str>,
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
            (&["--logit-bias", "50256=1.5", "hi"][..], &[]),
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
    fn every_flag_reaches_the_body_with_integers_kept() {
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
                "logit_bias": {"50256": -100}, "user": "u", "response_format": {"type": "json_object"},
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "stream_options": {"include_usage": true}, "stream": false
            })
        );
        assert!(!s.stream);
        // An integer on the wire, not -100.0: relays written in Go decode it into an int.
        assert_eq!(body["logit_bias"]["50256"].to_string(), "-100");
    }
}

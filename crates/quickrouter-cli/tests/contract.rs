//! Contract tests: the client's requests against Stoplight Prism serving `openapi.yaml`, a mock
//! server nobody here wrote. Prism validates every request against the spec (400 with
//! `sl-violations` when a field is mistyped) and answers with the spec's examples.
//!
//! They need Prism: `cargo xtask ci` installs it into `.cache/prism` and runs these with
//! `QUICKROUTER_PRISM` set to its binary. By hand:
//! `QUICKROUTER_PRISM=.cache/prism/node_modules/.bin/prism cargo test -p quickrouter-cli --test contract -- --ignored`

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

/// A Prism mock server, stopped on drop.
struct Prism {
    child: Child,
    base_url: String,
}

impl Prism {
    fn start() -> Prism {
        let bin = std::env::var("QUICKROUTER_PRISM")
            .expect("QUICKROUTER_PRISM names the prism binary (cargo xtask ci sets it)");
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args([
                "mock",
                spec.to_str().unwrap(),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prism starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prism did not start listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Prism {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn run(&self, args: &[&str]) -> (String, String, i32) {
        let run = support::run_with(
            support::command_for(&self.base_url, "sk-contract"),
            args,
            None,
        );
        (run.stdout, run.stderr, run.code)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file holding `text`, in a scratch directory of its own.
fn scratch(name: &str, text: &str) -> PathBuf {
    let path = support::scratch(&format!("contract-{name}")).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const TOOLS: &str = r#"[{"type": "function", "function": {"name": "get_weather", "description": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": false}}]"#;

/// Every request flag the CLI has, in one invocation.
fn every_flag(tools: &str, tool_choice: &str) -> Vec<String> {
    [
        "chat",
        "-m",
        "video-chat",
        "-s",
        "be brief",
        "--temperature",
        "0.7",
        "--top-p",
        "0.9",
        "-n",
        "1",
        "--max-tokens",
        "100",
        "--stop",
        "END",
        "--stop",
        "STOP",
        "--seed",
        "42",
        "--presence-penalty",
        "0.5",
        "--frequency-penalty",
        "-0.5",
        "--logit-bias",
        "50256=-100",
        "--user",
        "user-1",
        "--json-object",
        "--tools",
        tools,
        "--tool-choice",
        tool_choice,
        "--forwarded-host",
        "api.quickrouter.ai",
        "a cat surfing",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
#[ignore = "needs Prism: run through `cargo xtask ci`"]
fn every_cli_request_validates_against_the_spec() {
    let prism = Prism::start();
    let tools = scratch("tools.json", TOOLS);
    let tools = tools.to_str().unwrap();

    // Streamed (the default): Prism serves the spec's SSE example.
    let mut args = every_flag(tools, "get_weather");
    args.push("--include-usage".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (stdout, stderr, code) = prism.run(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "[video](https://example.com/v.mp4)\n");
    assert!(stderr.contains("Progress 36%"));

    // Not streamed, every --tool-choice form, a request file with parts and history.
    for choice in ["none", "auto", "required", "get_weather"] {
        let mut args = every_flag(tools, choice);
        args.push("--no-stream".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (stdout, stderr, code) = prism.run(&args);
        assert_eq!(code, 0, "--tool-choice {choice}: {stderr}");
        assert_eq!(stdout, "\n\nHello there, how may I assist you today?\n");
    }
    let body = scratch(
        "request.json",
        r#"{"model": "gpt-4o-mini", "messages": [
            {"role": "developer", "content": "be kind"},
            {"role": "user", "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}
        ], "stop": "END", "max_completion_tokens": 10, "parallel_tool_calls": true, "logprobs": true, "top_logprobs": 2}"#,
    );
    let (_, stderr, code) = prism.run(&[
        "chat",
        "--request",
        body.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");

    let (stdout, stderr, code) = prism.run(&["models"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "veo3.1-fast\ngpt-4o-mini\n");
}

#[test]
#[ignore = "needs Prism: run through `cargo xtask ci`"]
fn validation_is_on_a_mistyped_field_is_refused() {
    let prism = Prism::start();
    for (name, body) in [
        (
            "temperature",
            r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}"#,
        ),
        (
            "stop",
            r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["1", "2", "3", "4", "5"]}"#,
        ),
        (
            "role",
            r#"{"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}"#,
        ),
        (
            "tools",
            r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}"#,
        ),
    ] {
        let file = scratch(&format!("bad-{name}.json"), body);
        let (_, stderr, code) =
            prism.run(&["chat", "--no-stream", "--request", file.to_str().unwrap()]);
        assert_eq!(code, 5, "{name}: a mistyped request was accepted: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("status 400"),
            "{name}: {stderr}"
        );
    }
}

#[test]
#[ignore = "needs Prism: run through `cargo xtask ci`"]
fn the_specs_error_example_decodes() {
    let prism = Prism::start();
    let (_, stderr, code) = prism.run(&["chat", "--no-stream", "-H", "Prefer: code=401", "hi"]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stderr,
        "error: 无效的令牌 (request id: 20251124184217123456789abcdef) (status 401, type new_api_error, code invalid_api_key, request id 20251124184217123456789abcdef)\n"
    );
}

#[test]
#[ignore = "needs Prism: run through `cargo xtask ci`"]
fn the_libraries_typed_requests_validate() {
    use quickrouter::types::{ContentPart, Stop, Tool};
    use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest, ToolChoice};

    let prism = Prism::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = Client::builder()
            .base_url(&prism.base_url)
            .api_key("sk-contract")
            .forwarded_host("h.test")
            .build()
            .unwrap();
        let mut parameters = serde_json::Map::new();
        parameters.insert("type".into(), "object".into());
        let request = CreateChatCompletionRequest::new("gpt-4o-mini", [ChatMessage::system("s")])
            .message(ChatMessage::user(vec![
                ContentPart::text("t"),
                ContentPart::image_url("https://x.test/a.png"),
            ]))
            .message(ChatMessage::assistant("a"))
            .message(ChatMessage::tool("call_1", "r"))
            .temperature(0.3)
            .top_p(0.5)
            .n(1)
            .max_tokens(9)
            .stop(Stop::Array(vec!["x".into()]))
            .seed(-1)
            .presence_penalty(0.1)
            .frequency_penalty(0.1)
            .logit_bias("1", 2)
            .user("u")
            .json_object()
            .include_usage(true)
            .tool(Tool::function("f", "d", parameters))
            .tool_choice(ToolChoice::REQUIRED);
        let answer = client.chat().create(&request).await.unwrap();
        assert_eq!(
            answer.text(),
            Some("\n\nHello there, how may I assist you today?")
        );
        let streamed = client
            .chat()
            .stream(&request)
            .await
            .unwrap()
            .collect_completion()
            .await
            .unwrap();
        assert_eq!(streamed.text(), Some("[video](https://example.com/v.mp4)"));
        let models = client.models().list().await.unwrap();
        assert_eq!(models.data.len(), 2);
    });
}

#[test]
#[ignore = "needs Prism: run through `cargo xtask ci`"]
fn video_requests_on_both_task_apis_validate() {
    let prism = Prism::start();
    // Unified: the create body (duration an integer) and the query's `id` parameter.
    let (stdout, stderr, code) = prism.run(&[
        "video",
        "create",
        "--no-wait",
        "-m",
        "veo3.1-fast",
        "--seconds",
        "8",
        "--aspect-ratio",
        "16:9",
        "--size",
        "1280x720",
        "--image",
        "https://x.test/a.png",
        "a cat surfing",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "veo3.1-fast:1770350082-trii1OXZc3\n");
    let (stdout, stderr, code) =
        prism.run(&["video", "status", "veo3.1-fast:1770350082-trii1OXZc3"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "veo3.1-fast:1770350082-trii1OXZc3\tcompleted\t100\thttps://cdn.example.com/v/trii1OXZc3.mp4\n"
    );
    // The spec's completed example waits no further.
    let (stdout, stderr, code) = prism.run(&[
        "video",
        "create",
        "-m",
        "veo3.1-fast",
        "--poll-interval",
        "0.05",
        "x",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "https://cdn.example.com/v/trii1OXZc3.mp4\n");

    // OpenAI format: JSON (seconds a string), and multipart with a reference file.
    let (stdout, stderr, code) = prism.run(&[
        "video",
        "create",
        "--api",
        "openai",
        "--no-wait",
        "-m",
        "veo3.1-fast",
        "--seconds",
        "8",
        "--size",
        "1280x720",
        "x",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "video_123\n");
    let image = scratch("ref.png", "\u{89}PNG fake");
    let (_, stderr, code) = prism.run(&[
        "video",
        "create",
        "--api",
        "openai",
        "--no-wait",
        "-m",
        "veo3.1-fast",
        "--image",
        image.to_str().unwrap(),
        "x",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (stdout, stderr, code) = prism.run(&["video", "status", "--api", "openai", "video_123"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "video_123\tin_progress\t45\t-\n");
}

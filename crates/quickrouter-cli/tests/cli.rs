//! The `quickrouter` binary against the emulator: golden stdout/stderr/exit code per scenario,
//! what reaches the wire, downloads, pipes and terminals.
//!
//! Golden files live in `tests/data/NAME.{stdout,stderr,code}`; the emulator's port is written
//! as `PORT`. Re-bless them with `BLESS=1 cargo test -p quickrouter-cli --test cli`.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use quickrouter_emulator::{Emulator, Options};
use serde_json::{json, Value};
use support::{command, emulator, media_bytes, run, run_with, scratch, Run, BIN};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Compare a run with its golden files (or write them, with BLESS=1).
fn golden(name: &str, emu: &Emulator, result: &Run) {
    let port = emu.addr().port().to_string();
    let mask = |s: &str| s.replace(&port, "PORT");
    let actual = [
        ("stdout", mask(&result.stdout)),
        ("stderr", mask(&result.stderr)),
        ("code", format!("{}\n", result.code)),
    ];
    for (ext, text) in actual {
        let path = data_dir().join(format!("{name}.{ext}"));
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(data_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create it)", path.display()));
        assert_eq!(
            text, expected,
            "{name}.{ext} differs (BLESS=1 to accept the new output)"
        );
    }
}

/// Each scenario with the flags it needs: the golden name, the arguments.
const SCENARIOS: &[(&str, &[&str])] = &[
    ("text", &["chat", "hello", "world"]),
    ("text_no_stream", &["chat", "--no-stream", "hello"]),
    ("text_n2", &["chat", "-n", "2", "pick", "one"]),
    (
        "text_n2_no_stream",
        &["chat", "-n", "2", "--no-stream", "pick", "one"],
    ),
    (
        "max_tokens_stop",
        &[
            "chat",
            "--max-tokens",
            "3",
            "--stop",
            "zzz",
            "one",
            "two",
            "three",
        ],
    ),
    (
        "json",
        &["chat", "--output", "json", "--include-usage", "hi"],
    ),
    (
        "json_no_stream",
        &["chat", "--no-stream", "--output", "json", "hi"],
    ),
    ("ndjson", &["chat", "--output", "ndjson", "hi"]),
    ("video_chat", &["chat", "-m", "video-chat", "a cat surfing"]),
    (
        "video_chat_quiet",
        &["chat", "-m", "video-chat", "--quiet", "a cat surfing"],
    ),
    (
        "video_chat_inline",
        &["chat", "-m", "video-chat-inline", "a cat surfing"],
    ),
    (
        "video_chat_fail",
        &["chat", "-m", "video-chat-fail", "a cat"],
    ),
    (
        "video_chat_error",
        &["chat", "-m", "video-chat-error", "a cat"],
    ),
    ("tools_text", &["chat", "-m", "tools", "weather?"]),
    (
        "tools_json",
        &["chat", "-m", "tools", "--output", "json", "weather?"],
    ),
    ("quirks", &["chat", "-m", "quirks", "x"]),
    (
        "json_for_stream",
        &["chat", "-m", "json-for-stream", "hello"],
    ),
    ("error_200", &["chat", "-m", "error-200", "x"]),
    (
        "quirks_json",
        &["chat", "-m", "quirks", "--output", "json", "x"],
    ),
    ("retry_429", &["chat", "-m", "fault-429-then-ok", "x"]),
    ("retry_502", &["chat", "-m", "fault-502-then-ok", "x"]),
    ("retry_drop", &["chat", "-m", "fault-drop-then-ok", "x"]),
    ("fault_429_long", &["chat", "-m", "fault-429-long", "x"]),
    ("fault_429_quota", &["chat", "-m", "fault-429-quota", "x"]),
    (
        "fault_503",
        &["chat", "-m", "fault-503", "--max-retries", "1", "x"],
    ),
    (
        "fault_524_cloudflare",
        &[
            "chat",
            "-m",
            "fault-524-cloudflare",
            "--max-retries",
            "0",
            "x",
        ],
    ),
    (
        "fault_502_untitled",
        &[
            "chat",
            "-m",
            "fault-502-untitled",
            "--max-retries",
            "0",
            "x",
        ],
    ),
    ("fault_401", &["chat", "-m", "fault-401", "x"]),
    ("fault_403", &["chat", "-m", "fault-403", "x"]),
    ("fault_403_quota", &["chat", "-m", "fault-403-quota", "x"]),
    ("fault_400", &["chat", "-m", "fault-400", "x"]),
    (
        "fault_midstream",
        &["chat", "-m", "fault-midstream-error", "x"],
    ),
    ("fault_no_done", &["chat", "-m", "fault-no-done", "x"]),
    (
        "fault_no_done_json",
        &["chat", "-m", "fault-no-done", "--output", "json", "x"],
    ),
    ("fault_reset", &["chat", "-m", "fault-reset", "x"]),
    (
        "fault_invalid_json",
        &["chat", "-m", "fault-invalid-json", "x"],
    ),
    (
        "fault_silent",
        &["chat", "-m", "fault-silent", "--idle-timeout", "0.3", "x"],
    ),
    (
        "fault_hang",
        &[
            "chat",
            "-m",
            "fault-hang",
            "--timeout",
            "0.3",
            "--max-retries",
            "0",
            "--no-stream",
            "x",
        ],
    ),
    ("models", &["models"]),
    (
        "bad_stop",
        &[
            "chat", "--stop", "a", "--stop", "b", "--stop", "c", "--stop", "d", "--stop", "e", "x",
        ],
    ),
    ("bad_logit_bias", &["chat", "--logit-bias", "hello", "x"]),
    (
        "bad_tools_file",
        &["chat", "--tools", "/nonexistent/tools.json", "x"],
    ),
    ("bad_header", &["chat", "-H", "no colon here", "x"]),
    ("bad_flag", &["chat", "--no-such-flag", "x"]),
];

#[test]
fn golden_outputs_for_every_scenario() {
    let emu = emulator();
    for (name, args) in SCENARIOS {
        let result = run(&emu, args);
        golden(name, &emu, &result);
    }
}

#[test]
fn exit_codes_follow_the_contract() {
    let emu = emulator();
    let expect = [
        ("gpt-4o-mini", 0),
        ("fault-401", 3),
        ("fault-403", 3),
        ("fault-403-quota", 4),
        ("fault-429-quota", 4),
        ("fault-429-long", 4),
        ("fault-400", 5),
        ("fault-503", 6),
        ("fault-midstream-error", 8),
        ("fault-no-done", 8),
        ("fault-reset", 8),
        ("fault-invalid-json", 8),
        ("error-200", 6),
        ("json-for-stream", 0),
        ("sse-as-json", 0),
        ("fault-drop-then-ok", 8),
    ];
    for (model, code) in expect {
        let result = run(&emu, &["chat", "-m", model, "--max-retries", "0", "x"]);
        assert_eq!(result.code, code, "{model}: {}", result.stderr);
        if code != 0 {
            assert_eq!(
                result
                    .stderr
                    .lines()
                    .filter(|l| l.starts_with("error: "))
                    .count(),
                1,
                "{model}: {}",
                result.stderr
            );
            assert!(
                !result.stderr.contains("null"),
                "{model}: {}",
                result.stderr
            );
        }
    }
    let timeout = run(
        &emu,
        &["chat", "-m", "fault-silent", "--idle-timeout", "0.2", "x"],
    );
    assert_eq!(timeout.code, 7);
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        run(
            &emu,
            &[
                "chat",
                "--base-url",
                &format!("http://127.0.0.1:{port}/v1"),
                "--max-retries",
                "0",
                "x",
            ],
        )
    };
    assert_eq!(refused.code, 7, "{}", refused.stderr);
}

#[test]
fn quota_and_auth_errors_are_not_retried_and_429_is_after_retries() {
    let emu = emulator();
    for model in [
        "fault-401",
        "fault-403",
        "fault-403-quota",
        "fault-429-quota",
        "fault-400",
    ] {
        run(&emu, &["chat", "-m", model, "x"]);
    }
    assert_eq!(
        emu.requests_to("/chat/completions").len(),
        5,
        "none of them retried"
    );
    let result = run(
        &emu,
        &["chat", "-m", "fault-503", "--max-retries", "1", "x"],
    );
    assert_eq!(result.code, 6);
    assert_eq!(
        emu.requests_to("/chat/completions").len(),
        7,
        "--max-retries 1: two tries"
    );
}

#[test]
fn missing_key_sends_nothing() {
    let emu = emulator();
    let mut cmd = command(&emu);
    cmd.env_remove("QUICKROUTER_API_KEY");
    let result = run_with(cmd, &["chat", "hi"], None);
    assert_eq!(result.code, 2);
    assert_eq!(
        result.stderr,
        "error: missing API key: set QUICKROUTER_API_KEY or pass --api-key\n"
    );
    assert!(emu.requests().is_empty());
    // Bad local input: nothing sent either.
    for args in [
        &[
            "chat", "--stop", "1", "--stop", "2", "--stop", "3", "--stop", "4", "--stop", "5", "x",
        ][..],
        &["chat", "--request", "/nonexistent"],
    ] {
        assert_eq!(run(&emu, args).code, 2);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn every_flag_reaches_the_wire() {
    let emu = emulator();
    let dir = scratch("flags");
    let tools = dir.join("tools.json");
    std::fs::write(&tools, r#"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#).unwrap();
    let result = run(
        &emu,
        &[
            "chat",
            "-m",
            "gpt-4o-mini",
            "-s",
            "be brief",
            "--temperature",
            "0.7",
            "--top-p",
            "0.9",
            "-n",
            "1",
            "--max-tokens",
            "50",
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
            "--logit-bias",
            "11=5",
            "--user",
            "user-1",
            "--json-object",
            "--tools",
            tools.to_str().unwrap(),
            "--tool-choice",
            "get_weather",
            "--include-usage",
            "-H",
            "X-Team: blue",
            "--forwarded-host",
            "fwd.example",
            "hello",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let sent = &emu.requests_to("/chat/completions")[0];
    assert_eq!(
        sent.json(),
        json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
            "temperature": 0.7, "top_p": 0.9, "n": 1, "max_tokens": 50, "stop": ["END", "STOP"], "seed": 42,
            "presence_penalty": 0.5, "frequency_penalty": -0.5, "logit_bias": {"50256": -100, "11": 5},
            "user": "user-1", "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "stream_options": {"include_usage": true}, "stream": true
        })
    );
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(sent.header("x-team"), Some("blue"));
    assert_eq!(sent.header("x-forwarded-host"), Some("fwd.example"));
    assert_eq!(sent.header("authorization"), Some("Bearer sk-emulator"));

    for (choice, wire) in [
        ("none", json!("none")),
        ("auto", json!("auto")),
        ("required", json!("required")),
    ] {
        run(&emu, &["chat", "--tool-choice", choice, "--no-stream", "x"]);
        let sent = emu.requests_to("/chat/completions").last().unwrap().json();
        assert_eq!(sent["tool_choice"], wire);
        assert_eq!(sent["stream"], json!(false));
        assert!(
            sent.get("temperature").is_none(),
            "unset options are left out"
        );
    }
}

#[test]
fn global_flags_work_after_the_subcommand_and_env_is_read() {
    let emu = emulator();
    let mut cmd = Command::new(BIN);
    cmd.env_remove("QUICKROUTER_API_KEY")
        .env_remove("QUICKROUTER_BASE_URL")
        .env("QUICKROUTER_MODEL", "env-model");
    let prefix = format!("{}/custom/v1", emu.origin());
    let result = run_with(
        cmd,
        &[
            "chat",
            "hi",
            "--base-url",
            &prefix,
            "--api-key",
            "sk-emulator",
            "--timeout",
            "30",
        ],
        None,
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let sent = &emu.requests()[0];
    assert_eq!(
        sent.path, "/custom/v1/chat/completions",
        "the base URL's path prefix is kept"
    );
    assert_eq!(sent.json()["model"], json!("env-model"));

    let mut cmd = command(&emu);
    cmd.env("QUICKROUTER_FORWARDED_HOST", "env.example");
    run_with(cmd, &["models"], None);
    let sent = emu.requests().last().unwrap().clone();
    assert_eq!(sent.path, "/v1/models");
    assert_eq!(sent.header("x-forwarded-host"), Some("env.example"));
}

#[test]
fn stdin_and_words_make_the_prompt() {
    let emu = emulator();
    let prompt =
        |n: usize| emu.requests_to("/chat/completions")[n].json()["messages"][0]["content"].clone();
    let result = run_with(command(&emu), &["chat"], Some("from stdin\n"));
    assert_eq!(result.stdout, "You said: from stdin\n");
    assert_eq!(prompt(0), json!("from stdin\n"));
    run_with(command(&emu), &["chat", "-"], Some("dash"));
    assert_eq!(prompt(1), json!("dash"));
    run_with(
        command(&emu),
        &["chat", "Summarise", "this:"],
        Some("piped text"),
    );
    assert_eq!(prompt(2), json!("Summarise this:\n\npiped text"));
    run_with(command(&emu), &["chat", "just", "words"], None);
    assert_eq!(prompt(3), json!("just words"));
    let empty = run_with(command(&emu), &["chat"], Some("   \n"));
    assert_eq!(empty.code, 2);
}

#[test]
fn request_files_pass_unknown_fields_and_flags_override() {
    let emu = emulator();
    let dir = scratch("request");
    let file = dir.join("body.json");
    std::fs::write(
        &file,
        r#"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "from file", "x_cache": {"ttl": 5}}], "temperature": 1.5, "top_k": 40, "provider": {"order": ["a"]}}"#,
    )
    .unwrap();
    let result = run(
        &emu,
        &[
            "chat",
            "--request",
            file.to_str().unwrap(),
            "--temperature",
            "0.2",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, "You said: from file\n");
    let sent = emu.requests_to("/chat/completions")[0].json();
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "from file", "x_cache": {"ttl": 5}}])
    );
    assert_eq!(sent["temperature"], json!(0.2));
    assert_eq!(sent["top_k"], json!(40));
    assert_eq!(sent["provider"], json!({"order": ["a"]}));

    let result = run_with(
        command(&emu),
        &["chat", "--request", "-", "and", "more"],
        Some(r#"{"messages": [{"role": "user", "content": "first"}]}"#),
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let sent = emu.requests_to("/chat/completions")[1].json();
    assert_eq!(
        sent["messages"][1],
        json!({"role": "user", "content": "and more"})
    );

    std::fs::write(&file, "{not json").unwrap();
    let bad = run(&emu, &["chat", "--request", file.to_str().unwrap()]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.starts_with("error: invalid JSON in --request"),
        "{}",
        bad.stderr
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 2);
}

#[test]
fn download_saves_identical_bytes_inside_dir_only() {
    let emu = emulator();
    let parent = scratch("download");
    let dir = parent.join("out/videos");
    let result = run(
        &emu,
        &[
            "chat",
            "-m",
            "video-chat",
            "--download",
            dir.to_str().unwrap(),
            "a cat",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        let saved = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            saved,
            media_bytes(name).unwrap().1,
            "{name} differs from what the server sent"
        );
        assert!(
            result
                .stderr
                .contains(&format!("saved {}", dir.join(name).display())),
            "{}",
            result.stderr
        );
    }
    let media_requests: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/files/"))
        .collect();
    assert_eq!(media_requests.len(), 2);
    for request in &media_requests {
        assert_eq!(
            request.header("authorization"),
            None,
            "the key went to the media host"
        );
    }

    // Hostile names stay inside DIR.
    let hostile = parent.join("hostile");
    let result = run(
        &emu,
        &[
            "chat",
            "-m",
            "media-links",
            "-H",
            "X-Secret: s3",
            "--download",
            hostile.to_str().unwrap(),
            "x",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&hostile)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["_2F.._2Fy.webp", "clip.mov", "x-1.mp4", "x.mp4"]);
    assert_eq!(
        std::fs::read(hostile.join("x.mp4")).unwrap(),
        media_bytes("x.mp4").unwrap().1
    );
    let mut top: Vec<String> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["hostile", "out"], "nothing written outside DIR");
    for request in emu
        .requests()
        .iter()
        .filter(|r| !r.path.ends_with("/chat/completions"))
    {
        assert_eq!(
            request.header("x-secret"),
            None,
            "-H headers went to the media host"
        );
    }
}

#[test]
fn download_of_a_failed_generation_is_an_error() {
    let emu = emulator();
    let dir = scratch("fail");
    let result = run(
        &emu,
        &[
            "chat",
            "-m",
            "video-chat-fail",
            "--download",
            dir.join("v").to_str().unwrap(),
            "x",
        ],
    );
    assert_eq!(result.code, 6, "{}", result.stderr);
    assert!(result.stdout.contains("Failure reason"));
    assert!(
        result
            .stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("error: generation failed:"),
        "{}",
        result.stderr
    );
}

#[test]
fn verbose_traces_redact_the_key() {
    let emu = emulator();
    let result = run(&emu, &["chat", "-v", "hi"]);
    assert_eq!(result.code, 0);
    assert!(
        result.stderr.contains("> POST http://127.0.0.1:"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("authorization: [redacted]"));
    assert!(
        result.stderr.contains("> user-agent: quickrouter/"),
        "{}",
        result.stderr
    );
    let custom = run(&emu, &["chat", "-H", "User-Agent: my-tool/1", "hi"]);
    assert_eq!(custom.code, 0);
    assert_eq!(
        emu.requests_to("/chat/completions")
            .last()
            .unwrap()
            .header("user-agent"),
        Some("my-tool/1")
    );
    assert!(result.stderr.contains("< HTTP/1.1 200 OK"));
    let echoed = run(&emu, &["chat", "-v", "-m", "fault-echo-key", "x"]);
    assert_eq!(echoed.code, 3);
    assert!(
        echoed
            .stderr
            .contains("Incorrect API key provided: [redacted]."),
        "{}",
        echoed.stderr
    );
    for run in [
        &result,
        &echoed,
        &run(&emu, &["chat", "-v", "-m", "fault-401", "x"]),
    ] {
        assert!(!run.stdout.contains("sk-emulator") && !run.stderr.contains("sk-emulator"));
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let emu = emulator();
    let mut child = command(&emu)
        .args(["chat", "-m", "long", "--max-tokens", "200000", "x"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn completions_and_help() {
    let emu = emulator();
    for shell in ["bash", "zsh", "fish"] {
        let result = run(&emu, &["completions", shell]);
        assert_eq!(result.code, 0);
        assert!(result.stdout.contains("quickrouter"));
        assert!(result.stdout.contains("idle-timeout"), "{shell}");
    }
    let help = run(&emu, &["--help"]);
    assert_eq!(help.code, 0);
    for needle in [
        "Exit codes:",
        "QUICKROUTER_API_KEY",
        "8    stream broken",
        "9    media download failed",
        "130  interrupted",
        "--max-retries",
    ] {
        assert!(help.stdout.contains(needle), "--help lacks {needle}");
    }
    let chat_help = run(&emu, &["chat", "--help"]);
    for flag in [
        "--download",
        "--tool-choice",
        "--logit-bias",
        "--no-stream",
        "--request",
        "--include-usage",
    ] {
        assert!(chat_help.stdout.contains(flag), "chat --help lacks {flag}");
    }
    assert!(emu.requests().is_empty());
}

/// Run under a pseudo-terminal with `script`; returns everything the terminal showed.
fn on_terminal(emu: &Emulator, args: &str) -> String {
    let line = format!(
        "QUICKROUTER_BASE_URL={} QUICKROUTER_API_KEY={} {BIN} {args}",
        emu.base_url(),
        emu.api_key()
    );
    let output = Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_terminal_shows_the_spinner_and_progress_and_a_pipe_does_not() {
    let emu = Emulator::start(Options {
        video_step: Duration::from_millis(250),
        ..Options::default()
    })
    .unwrap();
    let screen = on_terminal(&emu, "chat -m video-chat 'a cat'");
    assert!(
        screen.contains("waiting"),
        "no spinner on a terminal: {screen:?}"
    );
    assert!(
        screen.contains("⠙") || screen.contains("⠹"),
        "no spinner frames: {screen:?}"
    );
    assert!(
        screen.contains("· 36%"),
        "no percentage in the spinner: {screen:?}"
    );
    assert!(
        screen.contains("\x1b[2m🏃 进度 36.."),
        "progress not dimmed: {screen:?}"
    );
    assert!(screen.contains("files/task_"), "no link: {screen:?}");

    let piped = run(&emu, &["chat", "-m", "video-chat", "a cat"]);
    assert!(
        !piped.stderr.contains("waiting") && !piped.stderr.contains('\x1b'),
        "{:?}",
        piped.stderr
    );
    assert!(piped.stderr.contains("🏃 进度 36.."));
    let quiet = on_terminal(&emu, "chat -m video-chat --quiet 'a cat'");
    assert!(
        !quiet.contains("waiting") && !quiet.contains("进度"),
        "{quiet:?}"
    );
}

#[test]
fn models_json_is_the_whole_list() {
    let emu = emulator();
    let result = run(&emu, &["models", "--output", "json"]);
    let list: Value = serde_json::from_str(&result.stdout).unwrap();
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "video-chat"));
}

#[test]
fn the_cli_and_the_library_send_the_same_body_for_the_same_options() {
    use quickrouter::types::ToolChoice;
    use quickrouter::{ChatMessage, CreateChatCompletionRequest};
    let emu = emulator();
    let flags = [
        "chat",
        "-m",
        "gpt-4o-mini",
        "-s",
        "be brief",
        "--temperature",
        "0.5",
        "--top-p",
        "0.9",
        "-n",
        "2",
        "--max-tokens",
        "7",
        "--stop",
        "a",
        "--stop",
        "b",
        "--seed",
        "3",
        "--presence-penalty",
        "0.1",
        "--frequency-penalty",
        "-0.2",
        "--logit-bias",
        "50256=-100",
        "--user",
        "u",
        "--json-object",
        "--tool-choice",
        "none",
        "--include-usage",
        "hi",
    ];
    let typed = CreateChatCompletionRequest::new(
        "gpt-4o-mini",
        [ChatMessage::system("be brief"), ChatMessage::user("hi")],
    )
    .temperature(0.5)
    .top_p(0.9)
    .n(2)
    .max_tokens(7)
    .stop(vec!["a".to_owned(), "b".to_owned()])
    .seed(3)
    .presence_penalty(0.1)
    .frequency_penalty(-0.2)
    .logit_bias("50256", -100)
    .user("u")
    .json_object()
    .tool_choice(ToolChoice::NONE)
    .include_usage(true);
    let client = quickrouter::Client::builder()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Streamed.
    assert_eq!(run(&emu, &flags).code, 0);
    runtime.block_on(async {
        let stream = client.chat().stream(&typed).await.unwrap();
        assert!(stream.drain(|_, _| {}).await.is_none());
    });
    // Whole (the library drops stream_options without a stream; so does the CLI).
    let mut whole = flags.to_vec();
    whole.insert(1, "--no-stream");
    assert_eq!(run(&emu, &whole).code, 0);
    runtime.block_on(async { client.chat().create(&typed).await.unwrap() });

    let bodies: Vec<Value> = emu
        .requests_to("/chat/completions")
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies[0], bodies[1], "streamed");
    assert_eq!(bodies[0]["stream"], true);
    assert_eq!(bodies[2]["stream_options"], Value::Null);
    let (mut cli, library) = (bodies[2].clone(), bodies[3].clone());
    // `--no-stream` says `stream: false` aloud; the library leaves the default unsaid.
    assert_eq!(
        cli.as_object_mut().unwrap().remove("stream"),
        Some(json!(false))
    );
    assert_eq!(cli, library, "whole");
}

#[test]
fn redirects_stay_within_the_apis_origin() {
    let emu = emulator();
    let refused = run(
        &emu,
        &[
            "chat",
            "-H",
            "X-Team: blue",
            "-m",
            "redirect-other-origin",
            "hi",
        ],
    );
    assert_eq!(refused.code, 7, "{}", refused.stderr);
    let port = emu.addr().port();
    assert_eq!(
        refused.stderr,
        format!(
            "error: refused a redirect from http://127.0.0.1:{port} to http://localhost:{port}: the API key and headers go to the API's origin only; set the base URL to the new address if it is the API\n"
        )
    );
    assert_eq!(emu.requests().len(), 1, "nothing reached the other origin");

    let followed = run(
        &emu,
        &[
            "chat",
            "-H",
            "X-Team: blue",
            "-m",
            "redirect-same-origin",
            "hi",
        ],
    );
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(followed.stdout, "You said: hi\n");
    let second = emu.requests().pop().unwrap();
    assert!(second.path.contains("/redirected/"));
    assert_eq!(second.header("authorization"), Some("Bearer sk-emulator"));
    assert_eq!(second.header("x-team"), Some("blue"));
}

#[test]
fn max_time_bounds_the_whole_request_with_its_retries() {
    let emu = emulator();
    // 503 forever: retries back off 0.5 s, then 1 s; --max-time stops them.
    let bounded = run(&emu, &["chat", "--max-time", "0.3", "-m", "fault-503", "x"]);
    assert_eq!(
        bounded.code, 6,
        "the last error, not sleeping past the limit: {}",
        bounded.stderr
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
    let hung = run(
        &emu,
        &["chat", "--max-time", "0.3", "-m", "fault-hang", "x"],
    );
    assert_eq!(hung.code, 7, "{}", hung.stderr);
    assert!(hung.stderr.contains("total deadline"), "{}", hung.stderr);
    let help = run(&emu, &["--help"]);
    assert!(help.stdout.contains("--max-time"));
    assert!(help.stdout.contains("until the response starts"));
}

#[test]
fn ctrl_c_mid_answer_keeps_what_was_printed_and_exits_130() {
    use std::io::BufRead;
    let emu = emulator();
    let mut child = command(&emu)
        .args(["chat", "-m", "fault-silent", "x"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // The answer's first words arrive, then the relay goes silent.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("partial answer") {
        let buf = stdout.fill_buf().unwrap();
        assert!(!buf.is_empty(), "the stream ended early");
        let n = buf.len();
        seen.extend_from_slice(buf);
        stdout.consume(n);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{stderr}");
    assert!(String::from_utf8_lossy(&seen).contains("partial answer"));
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("error:"), "nothing misleading: {stderr}");
}

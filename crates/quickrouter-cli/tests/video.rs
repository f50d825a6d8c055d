//! `quickrouter video …` against the emulator: every surface, stdout/stderr contracts, exit codes,
//! downloads, and creates that are never sent twice.

mod support;

use std::path::Path;

use support::{emulator, files_in, media_bytes, run, scratch, Emulator, Run};

const FAST: [&str; 2] = ["--poll-interval", "0.02"];

fn video(emu: &Emulator, args: &[&str]) -> Run {
    let mut all = vec!["video"];
    all.extend_from_slice(args);
    all.extend_from_slice(&FAST);
    run(emu, &all)
}

/// The one file in `dir` holds exactly the bytes the emulator serves under its name.
fn assert_exact_download(dir: &Path, result: &Run) {
    let names = files_in(dir);
    assert_eq!(names.len(), 1, "one file, no .part: {names:?}");
    let saved = std::fs::read(dir.join(&names[0])).unwrap();
    assert_eq!(saved, media_bytes(&names[0]).unwrap().1, "{}", names[0]);
    let line = format!("saved {}", dir.join(&names[0]).display());
    assert!(result.stderr.contains(&line), "{}", result.stderr);
}

#[test]
fn create_waits_downloads_and_prints_the_url_on_every_surface() {
    for api in ["unified", "openai", "chat"] {
        let emu = emulator();
        let dir = scratch(&format!("video-create-{api}")).join("out");
        let model = if api == "chat" {
            "video-chat"
        } else {
            "veo3.1-fast"
        };
        let result = video(
            &emu,
            &[
                "create",
                "--api",
                api,
                "-m",
                model,
                "--download",
                dir.to_str().unwrap(),
                "a",
                "cat",
                "surfing",
            ],
        );
        assert_eq!(result.code, 0, "{api}: {}", result.stderr);
        let url = result.stdout.trim();
        assert_eq!(result.stdout.lines().count(), 1, "{api}: {}", result.stdout);
        assert!(url.starts_with("http://127.0.0.1:"), "{api}: {url}");
        assert!(result.stderr.contains("task "), "{api}: {}", result.stderr);
        assert_exact_download(&dir, &result);
        // The prompt reached the relay, in the surface's own shape.
        let sent = emu
            .requests()
            .into_iter()
            .find(|r| r.method == "POST")
            .unwrap();
        let body = sent.json();
        let prompt = if api == "chat" {
            body["messages"][0]["content"].clone()
        } else {
            body["prompt"].clone()
        };
        assert_eq!(prompt, "a cat surfing", "{api}");
        // The key never reached the media host.
        for request in emu
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/files/"))
        {
            assert_eq!(request.header("authorization"), None, "{api}");
        }
    }
}

#[test]
fn no_wait_status_wait_and_download() {
    let emu = emulator();
    let created = video(&emu, &["create", "--no-wait", "-m", "veo3.1-fast", "x"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let id = created.stdout.trim().to_owned();
    assert!(
        id.starts_with("veo3.1-fast:") && !id.contains('\n'),
        "{id:?}"
    );
    assert!(created.stderr.contains(&id), "the id on stderr too");

    let status = video(&emu, &["status", &id]);
    assert_eq!(status.code, 0);
    let fields: Vec<&str> = status.stdout.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 4, "{:?}", status.stdout);
    assert_eq!(fields[0], id);

    // Not done yet (a slow relay): downloading is a client error (5), with the status in the line.
    let slow = quickrouter_tests::emulator_with_step(std::time::Duration::from_secs(60), None);
    let pending = video(&slow, &["create", "--no-wait", "-m", "veo3.1-fast", "x"]);
    let early = video(
        &slow,
        &[
            "download",
            pending.stdout.trim(),
            scratch("video-early").to_str().unwrap(),
        ],
    );
    assert_eq!(early.code, 5, "{}", early.stderr);
    assert!(early.stderr.contains("(status queued)"), "{}", early.stderr);

    let waited = video(&emu, &["wait", &id]);
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let url = waited.stdout.trim();
    assert!(url.ends_with(".mp4"), "{url}");

    let done = video(&emu, &["status", &id]);
    assert_eq!(
        done.stdout,
        format!("{id}\tcompleted\t100\t{url}\n"),
        "PROGRESS is 100 once completed"
    );
    let json = video(&emu, &["status", &id, "--output", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["detail"]["status"], "completed",
        "the relay's object, unknown fields kept"
    );

    let dir = scratch("video-download");
    let fetched = video(&emu, &["download", &id, dir.to_str().unwrap()]);
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert_exact_download(&dir, &fetched);
}

#[test]
fn exit_codes_of_the_video_contract() {
    let emu = emulator();
    let failed = video(&emu, &["create", "-m", "video-fail", "x"]);
    assert_eq!(failed.code, 6, "{}", failed.stderr);
    let line = failed.stderr.lines().last().unwrap();
    assert!(line.starts_with("error: video task video-fail:"), "{line}");
    assert!(line.contains("content policy"), "{line}");

    let cancelled = video(
        &emu,
        &["create", "--api", "openai", "-m", "video-cancel", "x"],
    );
    assert_eq!(cancelled.code, 6, "{}", cancelled.stderr);
    assert!(cancelled.stderr.contains("cancelled"));

    let slow = run(
        &emu,
        &[
            "video",
            "create",
            "-m",
            "video-odd-status",
            "--max-wait",
            "0.05",
            "--poll-interval",
            "0.01",
            "x",
        ],
    );
    assert_eq!(slow.code, 7, "{}", slow.stderr);
    assert!(
        slow.stderr.contains("video-odd-status:"),
        "the id: {}",
        slow.stderr
    );
    assert!(
        slow.stderr.contains("quickrouter video wait"),
        "{}",
        slow.stderr
    );

    let dir = scratch("video-expired");
    let expired = video(
        &emu,
        &[
            "create",
            "-m",
            "video-expired",
            "--download",
            dir.to_str().unwrap(),
            "x",
        ],
    );
    assert_eq!(expired.code, 9, "never 3: {}", expired.stderr);
    assert!(
        !expired.stderr.contains('<'),
        "no markup: {}",
        expired.stderr
    );

    let billed = video(&emu, &["create", "-m", "video-500", "x"]);
    assert_eq!(billed.code, 6, "{}", billed.stderr);
    assert!(
        billed.stderr.contains("not sent again"),
        "{}",
        billed.stderr
    );
    assert_eq!(emu.video_creates("video-500"), 1);

    let limited = video(&emu, &["create", "-m", "video-429", "x"]);
    assert_eq!(limited.code, 0, "a 429 is resent: {}", limited.stderr);
    assert_eq!(emu.video_creates("video-429"), 2);

    let before = emu.requests().len();
    let no_model = video(&emu, &["create", "x"]);
    assert_eq!(no_model.code, 2);
    assert!(no_model.stderr.contains("QUICKROUTER_VIDEO_MODEL"));
    let chat_no_wait = video(
        &emu,
        &[
            "create",
            "--api",
            "chat",
            "--no-wait",
            "-m",
            "video-chat",
            "x",
        ],
    );
    assert_eq!(chat_no_wait.code, 2);
    let missing_image = video(
        &emu,
        &[
            "create",
            "-m",
            "veo3.1-fast",
            "--image",
            "/nonexistent.png",
            "x",
        ],
    );
    assert_eq!(missing_image.code, 2);
    assert_eq!(
        emu.requests().len(),
        before,
        "nothing sent for local errors"
    );
}

#[test]
fn a_cut_download_resumes_and_headers_stay_with_the_api() {
    let emu = emulator();
    let dir = scratch("video-cut");
    let result = video(
        &emu,
        &[
            "create",
            "--api",
            "openai",
            "-m",
            "video-cut",
            "-H",
            "X-Team: blue",
            "--download",
            dir.to_str().unwrap(),
            "x",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_exact_download(&dir, &result);
    let content: Vec<_> = emu.requests_to("/content");
    assert_eq!(content.len(), 2, "a cut, then a resume");
    assert!(content[1].header("range").is_some());
    assert!(content.iter().all(|r| r.header("x-team") == Some("blue")));

    let redirected = scratch("video-redirect");
    let result = video(
        &emu,
        &[
            "create",
            "-m",
            "video-redirect",
            "-H",
            "X-Team: blue",
            "--download",
            redirected.to_str().unwrap(),
            "x",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_exact_download(&redirected, &result);
    for request in emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/files/"))
    {
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.header("x-team"),
            None,
            "-H headers go to the API only"
        );
    }
}

#[test]
fn json_and_ndjson_print_the_relays_objects() {
    let emu = emulator();
    let json = video(
        &emu,
        &["create", "-m", "veo3.1-fast", "--output", "json", "x"],
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["status"], "completed");
    assert!(value["detail"]["pending_info"].is_object());

    let no_wait = video(
        &emu,
        &[
            "create",
            "--no-wait",
            "-m",
            "veo3.1-fast",
            "--output",
            "json",
            "x",
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&no_wait.stdout).unwrap();
    assert_eq!(value["status"], "pending", "the create answer");

    let lines = video(
        &emu,
        &[
            "create",
            "--api",
            "openai",
            "-m",
            "veo3.1-fast",
            "--output",
            "ndjson",
            "x",
        ],
    );
    assert_eq!(lines.code, 0, "{}", lines.stderr);
    let objects: Vec<serde_json::Value> = lines
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(objects.len() >= 2);
    assert_eq!(objects.last().unwrap()["status"], "completed");

    let request = scratch("video-request").join("req.json");
    std::fs::write(
        &request,
        r#"{"model": "veo3.1-fast", "prompt": "from file", "watermark": false, "x_extra": 1}"#,
    )
    .unwrap();
    let from_file = video(
        &emu,
        &[
            "create",
            "--no-wait",
            "--request",
            request.to_str().unwrap(),
            "--seconds",
            "6",
        ],
    );
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    let sent = emu.requests_to("/video/create").last().unwrap().json();
    assert_eq!(sent["prompt"], "from file");
    assert_eq!(sent["x_extra"], 1, "unknown fields pass through");
    assert_eq!(sent["watermark"], false);
    assert_eq!(sent["duration"], 6);
}

#[test]
fn ctrl_c_exits_130_and_says_how_to_resume() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let slow = quickrouter_tests::emulator_with_step(std::time::Duration::from_secs(60), None);
    let mut child = support::command(&slow)
        .args(["video", "create", "-m", "veo3.1-fast", "x"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.starts_with("task veo3.1-fast:"), "{first}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{rest}");
    let id = first.split_whitespace().nth(1).unwrap();
    assert!(rest.contains("interrupted") && rest.contains(id), "{rest}");
    assert!(rest.contains("quickrouter video wait"), "{rest}");
    assert_eq!(slow.video_creates("veo3.1-fast"), 1);
}

//! `client.videos()` against the emulator's video routes, over loopback: both task APIs, polling,
//! failures, downloads that are cut, redirected or expired, and creates that must not be resent.

use std::time::Duration;

use futures_util::StreamExt;
use quickrouter::videos::{ImageInput, VideoApi, VideoRequest, VideoTask, WaitOptions};
use quickrouter::{Error, TimeoutKind};
use quickrouter_tests::{client, emulator, files_in, media_bytes, scratch, Emulator};

fn fast() -> WaitOptions {
    WaitOptions {
        interval: Some(Duration::from_millis(20)),
        max_wait: Duration::from_secs(20),
        ..WaitOptions::default()
    }
}

/// Create, then wait: every state read, the last one terminal.
async fn make(emu: &Emulator, api: VideoApi, model: &str) -> Vec<VideoTask> {
    let client = client(emu);
    let videos = client.videos().api(api);
    let created = videos
        .create(&VideoRequest::new(model, "a cat surfing"))
        .await
        .unwrap();
    let mut states = vec![created.clone()];
    let mut updates = videos.wait(&created.id, fast());
    while let Some(update) = updates.next().await {
        states.push(update.unwrap());
    }
    states
}

/// The emulator's bytes for the file a URL names.
fn expected_bytes(url: &str) -> Vec<u8> {
    media_bytes(url.rsplit('/').next().unwrap()).unwrap().1
}

#[tokio::test]
async fn unified_tasks_progress_complete_and_download_exactly() {
    let emu = emulator(None);
    let states = make(&emu, VideoApi::Unified, "veo3.1-fast").await;
    let first = &states[0];
    assert!(first.id.starts_with("veo3.1-fast:"), "{}", first.id);
    assert_eq!(first.status_text, "pending");
    let progress: Vec<u8> = states.iter().filter_map(|t| t.progress).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert!(
        progress.iter().any(|p| (1..100).contains(p)),
        "{progress:?}"
    );
    let last = states.last().unwrap();
    assert!(last.is_success(), "{last:?}");
    assert_eq!(last.progress, Some(100));
    let url = last.video_url.clone().unwrap();

    // The body sent: the unified API's names.
    let create = &emu.requests_to("/video/create")[0];
    assert_eq!(create.json()["model"], "veo3.1-fast");
    assert_eq!(create.json()["prompt"], "a cat surfing");
    let query = &emu.requests_to("/video/query")[0];
    assert!(
        query.query.starts_with("id=veo3.1-fast%3A"),
        "{}",
        query.query
    );

    let dir = scratch("unified-download");
    let client = client(&emu);
    let path = client.videos().download(last, &dir).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected_bytes(&url));
    assert_eq!(
        files_in(&dir).len(),
        1,
        "no .part left: {:?}",
        files_in(&dir)
    );
    // The media host got no key.
    let media = emu.requests_to(".mp4");
    assert!(media.iter().all(|r| r.header("authorization").is_none()));
}

#[tokio::test]
async fn openai_tasks_download_through_content_with_the_key() {
    let emu = emulator(None);
    let states = make(&emu, VideoApi::OpenAi, "veo3.1-fast").await;
    let last = states.last().unwrap();
    assert!(last.is_success());
    assert_eq!(last.api, VideoApi::OpenAi);
    assert!(last.video_url.as_deref().unwrap().ends_with("/content"));
    assert!(states.iter().any(|t| t.status_text == "in_progress"));
    let dir = scratch("openai-download");
    let path = client(&emu)
        .videos()
        .api(VideoApi::OpenAi)
        .download(last, &dir)
        .await
        .unwrap();
    let name = format!(
        "{}.mp4",
        last.id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            })
            .collect::<String>()
    );
    assert_eq!(std::fs::read(&path).unwrap(), media_bytes(&name).unwrap().1);
    let content = &emu.requests_to("/content")[0];
    assert_eq!(content.header("authorization"), Some("Bearer sk-emulator"));
}

#[tokio::test]
async fn a_download_cut_mid_file_resumes_with_range_and_is_exact() {
    for api in [VideoApi::Unified, VideoApi::OpenAi] {
        let emu = emulator(None);
        let states = make(&emu, api, "video-cut").await;
        let last = states.last().unwrap();
        let dir = scratch(&format!("cut-{api}"));
        let path = client(&emu)
            .videos()
            .api(api)
            .download(last, &dir)
            .await
            .unwrap();
        let saved = std::fs::read(&path).unwrap();
        assert_eq!(saved.len(), 96 * 1024, "{api}");
        let fetched: Vec<_> = emu
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/files/cut/") || r.path.ends_with("/content"))
            .collect();
        assert_eq!(fetched.len(), 2, "{api}: one cut, one resume");
        assert_eq!(fetched[0].header("range"), None);
        let range = fetched[1].header("range").unwrap();
        assert!(
            range.starts_with("bytes=") && range != "bytes=0-",
            "{range}"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(saved, media_bytes(name).unwrap().1, "{api}");
        assert_eq!(files_in(&dir), [name.to_owned()], "no .part left");
    }
}

#[tokio::test]
async fn json_links_and_redirects_to_other_origins_are_followed_without_the_key() {
    for (api, model) in [
        (VideoApi::OpenAi, "video-json-content"),
        (VideoApi::OpenAi, "video-content-redirect"),
        (VideoApi::Unified, "video-redirect"),
    ] {
        let emu = emulator(None);
        let client = quickrouter_tests::builder(&emu)
            .header("x-secret-team", "blue")
            .build()
            .unwrap();
        let videos = client.videos().api(api);
        let created = videos.create(&VideoRequest::new(model, "x")).await.unwrap();
        let mut last = created.clone();
        let mut updates = videos.wait(&created.id, fast());
        while let Some(update) = updates.next().await {
            last = update.unwrap();
        }
        let dir = scratch(&format!("follow-{model}"));
        let path = videos.download(&last, &dir).await.unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            media_bytes(&name).unwrap().1,
            "{model}"
        );
        let media: Vec<_> = emu
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/files/") && !r.path.contains("/redirect/"))
            .collect();
        assert_eq!(media.len(), 1, "{model}");
        assert_eq!(media[0].header("authorization"), None, "{model}");
        assert_eq!(media[0].header("x-secret-team"), None, "{model}");
        if model != "video-json-content" {
            assert!(
                media[0].header("host").unwrap().starts_with("localhost:"),
                "{model}"
            );
        }
    }
}

#[tokio::test]
async fn an_expired_link_is_a_media_error_not_an_auth_error() {
    let emu = emulator(None);
    let states = make(&emu, VideoApi::Unified, "video-expired").await;
    let dir = scratch("expired");
    let error = client(&emu)
        .videos()
        .download(states.last().unwrap(), &dir)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Media {
                status: Some(403),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.status(),
        None,
        "a media host's status is not the API's"
    );
    assert!(error.to_string().contains("403 Forbidden"), "{error}");
    assert!(!error.to_string().contains('<'), "no markup: {error}");
    assert!(files_in(&dir).is_empty());
}

#[tokio::test]
async fn failures_cancellations_and_odd_statuses() {
    let emu = emulator(None);
    for api in [VideoApi::Unified, VideoApi::OpenAi] {
        let failed = make(&emu, api, "video-fail").await;
        let last = failed.last().unwrap();
        assert!(last.is_failure() && last.status_text == "failed", "{api}");
        assert!(
            last.error
                .as_ref()
                .unwrap()
                .message
                .contains("content policy"),
            "{api}"
        );
        let cancelled = make(&emu, api, "video-cancel").await;
        assert_eq!(cancelled.last().unwrap().status_text, "cancelled");
        assert!(cancelled.last().unwrap().is_failure());
    }
    // completed with an upstream error_message: the URL wins.
    let done = make(&emu, VideoApi::Unified, "video-error-done").await;
    let last = done.last().unwrap();
    assert!(last.is_success() && last.error.is_none(), "{last:?}");
    // An unknown status counts as running.
    let odd = make(&emu, VideoApi::Unified, "video-odd-status").await;
    assert!(odd.iter().any(|t| t.status_text == "rendering"));
    assert!(odd.last().unwrap().is_success());
}

#[tokio::test]
async fn a_429_create_is_sent_again_and_a_500_is_not() {
    let emu = emulator(None);
    let client = client(&emu);
    let task = client
        .videos()
        .create(&VideoRequest::new("video-429", "x"))
        .await
        .unwrap();
    assert!(!task.id.is_empty());
    assert_eq!(emu.video_creates("video-429"), 2);

    let error = client
        .videos()
        .create(&VideoRequest::new("video-500", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        emu.video_creates("video-500"),
        1,
        "a 500 may have been billed"
    );
    assert!(matches!(error, Error::Unconfirmed(_)), "{error:?}");
    assert_eq!(error.status(), Some(500));
    assert!(error.to_string().contains("not sent again"), "{error}");
}

#[tokio::test]
async fn a_create_is_never_resent_after_a_timeout() {
    let emu = emulator(None);
    let client = quickrouter_tests::builder(&emu)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    for api in [VideoApi::Unified, VideoApi::OpenAi] {
        let error = client
            .videos()
            .api(api)
            .create(&VideoRequest::new("video-hang", "x"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Unconfirmed(inner) if matches!(**inner, Error::Timeout(TimeoutKind::Request))),
            "{error:?}"
        );
        assert!(error.is_timeout());
    }
    assert_eq!(
        emu.video_creates("video-hang"),
        2,
        "one per surface, none resent"
    );
}

#[tokio::test]
async fn max_wait_ends_the_wait_with_a_deadline() {
    let emu = quickrouter_tests::emulator_with_step(Duration::from_secs(30), None);
    let client = client(&emu);
    let task = client
        .videos()
        .create(&VideoRequest::new("veo3.1-fast", "x"))
        .await
        .unwrap();
    let options = WaitOptions {
        interval: Some(Duration::from_millis(20)),
        max_wait: Duration::from_millis(200),
        ..WaitOptions::default()
    };
    let results: Vec<_> = client.videos().wait(&task.id, options).collect().await;
    let last = results.last().unwrap();
    assert!(
        matches!(last, Err(Error::Timeout(TimeoutKind::Deadline))),
        "{last:?}"
    );
    assert!(results[..results.len() - 1].iter().all(|r| r.is_ok()));
}

#[tokio::test]
async fn the_relays_poll_after_header_sets_the_pace() {
    let emu = emulator(None);
    let client = client(&emu);
    let videos = client.videos().api(VideoApi::OpenAi);
    let task = videos
        .create(&VideoRequest::new("video-poll-after", "x"))
        .await
        .unwrap();
    // No interval of our own: the default (5 s) would allow one poll in the time the task takes;
    // the relay's 50 ms allows many.
    let options = WaitOptions {
        max_wait: Duration::from_secs(20),
        ..WaitOptions::default()
    };
    let states: Vec<_> = videos.wait(&task.id, options).collect().await;
    assert!(states.last().unwrap().as_ref().unwrap().is_success());
    assert!(states.len() >= 3, "{} polls", states.len());
    assert!(states
        .iter()
        .all(|s| s.as_ref().unwrap().poll_after == Some(Duration::from_millis(50))));
}

#[tokio::test]
async fn reference_images_on_every_surface() {
    let emu = emulator(None);
    let client = client(&emu);
    let dir = scratch("images");
    let image = dir.join("ref.png");
    std::fs::write(&image, b"\x89PNG\r\n\x1a\nfake").unwrap();
    let request = VideoRequest::new("veo3.1-fast", "a cat")
        .image(ImageInput::File(image.clone()))
        .image(ImageInput::parse("https://img.test/b.jpg"))
        .seconds(8)
        .aspect_ratio("16:9");

    client.videos().create(&request).await.unwrap();
    let unified = emu.requests_to("/video/create")[0].json();
    let images = unified["images"].as_array().unwrap();
    assert!(images[0]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    assert_eq!(images[1], "https://img.test/b.jpg");
    assert_eq!(unified["duration"], 8, "an integer");
    assert_eq!(unified["aspect_ratio"], "16:9");

    client
        .videos()
        .api(VideoApi::OpenAi)
        .create(&request)
        .await
        .unwrap();
    let openai = &emu.requests_to("/videos")[0];
    assert!(openai
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data"));
    let form = openai.json();
    assert_eq!(form["seconds"], "8", "a string on the OpenAI surface");
    assert_eq!(form["model"], "veo3.1-fast");
    assert_eq!(form["input_reference"]["file_name"], "ref.png");
    assert_eq!(form["input_reference"]["size"], 12);

    let chat = request.to_chat_request().unwrap();
    let body = serde_json::to_value(&chat).unwrap();
    assert_eq!(body["messages"][0]["content"][1]["type"], "image_url");
}

#[tokio::test]
async fn an_unreachable_media_host_is_a_media_error() {
    let emu = emulator(None);
    let dir = scratch("unreachable");
    // Port 1 on loopback: nothing listens there.
    let error = quickrouter::download::download_url(
        &client(&emu),
        "http://127.0.0.1:1/files/x.mp4",
        &dir,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, Error::Media { status: None, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("the media download failed"),
        "{error}"
    );
    assert!(files_in(&dir).is_empty(), "no file, no .part");
}

//! The transport against the emulator over loopback: retries, timeouts, typed errors, stream
//! endings. Waits are measured, not mocked.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use quickrouter::transport::{
    ApiErrorKind, ApiKey, Config, Error, HttpClient, Request, RequestOptions, StreamError,
    TimeoutKind,
};
use quickrouter_tests::{chat_requests, emulator};
use serde_json::json;

fn http(emulator: &quickrouter_emulator::Emulator, tweak: impl FnOnce(&mut Config)) -> HttpClient {
    let mut config = Config {
        base_url: emulator.base_url(),
        api_key: Some(ApiKey::new(emulator.api_key())),
        ..Config::default()
    };
    tweak(&mut config);
    HttpClient::new(config).unwrap()
}

fn chat(model: &str, stream: bool) -> Request {
    let body =
        json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    Request::post_json("/chat/completions", serde_json::to_vec(&body).unwrap()).streaming(stream)
}

/// Drain a stream: the data of every event, and the error that ended it.
async fn drain(response: quickrouter::transport::Response) -> (Vec<String>, Option<Error>) {
    let mut events = response.events();
    let mut data = Vec::new();
    while let Some(item) = events.next().await {
        match item {
            Ok(event) => data.push(event.data_text().into_owned()),
            Err(e) => return (data, Some(e)),
        }
    }
    (data, None)
}

/// The content deltas of streamed events, joined.
fn content(data: &[String]) -> String {
    data.iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_on_then_succeeds() {
    let emu = emulator(None);
    let started = Instant::now();
    let response = http(&emu, |_| {})
        .send(&chat("fault-429-then-ok", false))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.attempts, 2);
    assert_eq!(chat_requests(&emu).len(), 2);
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: {waited:?}"
    );
}

#[tokio::test]
async fn an_html_502_is_retried_then_succeeds() {
    let emu = emulator(None);
    let response = http(&emu, |_| {})
        .send(&chat("fault-502-then-ok", true))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
    let (data, error) = drain(response).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(content(&data), "You said: hi");
}

#[tokio::test]
async fn a_503_forever_is_tried_three_times_then_returned() {
    let emu = emulator(None);
    let error = http(&emu, |_| {})
        .send(&chat("fault-503", false))
        .await
        .unwrap_err();
    assert_eq!(chat_requests(&emu).len(), 3, "the first try and 2 retries");
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.kind(), Some(ApiErrorKind::Server));
    assert!(error.request_id().is_some_and(|id| id.ends_with("emu")));
    assert!(
        error.to_string().contains("当前分组上游负载已饱和"),
        "{error}"
    );
}

#[tokio::test]
async fn max_retries_zero_sends_once_and_per_request_overrides_work() {
    let emu = emulator(None);
    let client = http(&emu, |c| c.max_retries = 0);
    assert!(client.send(&chat("fault-503", false)).await.is_err());
    assert_eq!(chat_requests(&emu).len(), 1);
    let options = RequestOptions {
        max_retries: Some(1),
        ..Default::default()
    };
    assert!(client
        .send(&chat("fault-503", false).options(options))
        .await
        .is_err());
    assert_eq!(chat_requests(&emu).len(), 3);
}

#[tokio::test]
async fn auth_quota_and_bad_requests_are_never_retried() {
    let emu = emulator(None);
    let client = http(&emu, |_| {});
    for (model, status, kind) in [
        ("fault-401", 401, ApiErrorKind::Authentication),
        ("fault-403", 403, ApiErrorKind::PermissionDenied),
        ("fault-403-quota", 403, ApiErrorKind::Quota),
        ("fault-429-quota", 429, ApiErrorKind::Quota),
        ("fault-400", 400, ApiErrorKind::BadRequest),
    ] {
        let before = chat_requests(&emu).len();
        let error = client.send(&chat(model, true)).await.unwrap_err();
        assert_eq!(chat_requests(&emu).len(), before + 1, "{model} was retried");
        assert_eq!(
            (error.status(), error.kind()),
            (Some(status), Some(kind)),
            "{model}"
        );
        assert!(!error.to_string().contains(emu.api_key()));
    }
}

#[tokio::test]
async fn a_retry_after_over_the_cap_is_returned_at_once() {
    let emu = emulator(None);
    let started = Instant::now();
    let error = http(&emu, |_| {})
        .send(&chat("fault-429-long", false))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(chat_requests(&emu).len(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(error.kind(), Some(ApiErrorKind::RateLimit));
}

#[tokio::test]
async fn a_wrong_key_gets_the_relays_401_with_its_request_id() {
    let emu = emulator(None);
    let client = http(&emu, |c| c.api_key = Some(ApiKey::new("sk-wrong")));
    let error = client.send(&chat("gpt-4o-mini", false)).await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    let api = error.api().unwrap();
    assert_eq!(api.error_type.as_deref(), Some("new_api_error"));
    assert!(api.message.contains("无效的令牌"));
    // The id the emulator answered with (the client sends none of its own).
    let answered = emu.requests().last().unwrap().request_id.clone();
    assert!(answered.ends_with("emu"));
    assert_eq!(error.request_id(), Some(answered.as_str()));
}

#[tokio::test]
async fn mid_stream_failures_are_distinct_typed_errors_after_the_data() {
    let emu = emulator(None);
    let client = http(&emu, |_| {});
    for model in ["fault-midstream-error", "fault-no-done", "fault-reset"] {
        let (data, error) = drain(client.send(&chat(model, true)).await.unwrap()).await;
        assert_eq!(
            data.len(),
            3,
            "{model}: role, 'partial', ' answer' arrive first"
        );
        match (model, error) {
            ("fault-midstream-error", Some(Error::Stream(StreamError::ErrorEvent(api)))) => {
                assert_eq!(api.error_type.as_deref(), Some("upstream_error"));
                assert!(api.message.starts_with("上游错误"));
            }
            ("fault-no-done", Some(Error::Stream(StreamError::EndedWithoutDone))) => {}
            ("fault-reset", Some(Error::Stream(StreamError::Reset { .. }))) => {}
            (model, other) => panic!("{model}: {other:?}"),
        }
    }
    // Not retried: part of the answer was already delivered.
    assert_eq!(chat_requests(&emu).len(), 3);
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_timeout() {
    let emu = emulator(None);
    let client = http(&emu, |c| c.idle_timeout = Duration::from_millis(300));
    let started = Instant::now();
    let (data, error) = drain(client.send(&chat("fault-silent", true)).await.unwrap()).await;
    assert_eq!(data.len(), 3);
    assert!(
        matches!(error, Some(Error::Timeout(TimeoutKind::Idle))),
        "{error:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn keep_alives_and_silences_under_the_idle_timeout_complete() {
    // slow-keepalive: 12 silences of 50 ms each, keep-alive comments between: about 600 ms in
    // all, so only a timer that every byte resets lets it finish under a 300 ms idle timeout.
    let emu = emulator(None);
    let client = http(&emu, |c| c.idle_timeout = Duration::from_millis(300));
    let started = Instant::now();
    let (data, error) = drain(client.send(&chat("slow-keepalive", true)).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(started.elapsed() > Duration::from_millis(300));
    assert_eq!(content(&data), "still here at the end");
}

#[tokio::test]
async fn a_response_head_that_never_comes_hits_the_request_timeout_and_is_retried() {
    let emu = emulator(None);
    let client = http(&emu, |c| {
        c.timeout = Duration::from_millis(200);
        c.max_retries = 1;
    });
    let error = client.send(&chat("fault-hang", false)).await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Request)),
        "{error:?}"
    );
    assert_eq!(chat_requests(&emu).len(), 2);
}

#[tokio::test]
async fn a_total_deadline_stops_retries() {
    let emu = emulator(None);
    let client = http(&emu, |c| {
        c.timeout = Duration::from_secs(5);
        c.deadline = Some(Duration::from_millis(300));
    });
    let started = Instant::now();
    let error = client.send(&chat("fault-hang", false)).await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Deadline)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn nothing_listening_is_a_connection_error_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = HttpClient::new(Config {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: Some(ApiKey::new("sk-secret-value")),
        max_retries: 1,
        ..Config::default()
    })
    .unwrap();
    let started = Instant::now();
    let error = client.send(&chat("x", false)).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    // The cause is kept, without the URL.
    let source = std::error::Error::source(&error).expect("a source");
    assert!(!source.to_string().contains("127.0.0.1"), "{source}");
    assert!(error.is_retryable());
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "one backoff wait of 0.375..0.5 s"
    );
    assert!(!format!("{error} {error:?} {client:?}").contains("sk-secret-value"));
}

#[tokio::test]
async fn headers_auth_accept_user_agent_and_path_prefix_reach_the_wire() {
    let emu = emulator(None);
    let mut headers = quickrouter::transport::reqwest::header::HeaderMap::new();
    headers.insert("x-team", "blue".parse().unwrap());
    let client = http(&emu, |c| {
        c.forwarded_host = Some("api.quickrouter.ai".into());
        c.headers = headers;
        c.base_url = format!("{}/relay/v1/", emu.origin());
    });
    let mut per_request = RequestOptions::default();
    per_request.headers.insert("x-team", "red".parse().unwrap());
    drain(
        client
            .send(&chat("gpt-4o-mini", true).options(per_request))
            .await
            .unwrap(),
    )
    .await;
    client.send(&chat("gpt-4o-mini", false)).await.unwrap();
    let requests = chat_requests(&emu);
    let (stream, plain) = (&requests[0], &requests[1]);
    assert_eq!(stream.path, "/relay/v1/chat/completions");
    assert_eq!(stream.header("authorization"), Some("Bearer sk-emulator"));
    assert_eq!(stream.header("accept"), Some("text/event-stream"));
    assert_eq!(plain.header("accept"), Some("application/json"));
    assert_eq!(stream.header("content-type"), Some("application/json"));
    assert_eq!(
        stream.header("x-forwarded-host"),
        Some("api.quickrouter.ai")
    );
    assert_eq!(stream.header("x-team"), Some("red"));
    assert_eq!(plain.header("x-team"), Some("blue"));
    assert!(stream
        .header("user-agent")
        .unwrap()
        .starts_with("quickrouter/"));
}

#[tokio::test]
async fn split_streams_decode_to_the_same_events() {
    let whole = {
        let emu = emulator(None);
        let (data, error) = drain(
            http(&emu, |_| {})
                .send(&chat("video-chat", true))
                .await
                .unwrap(),
        )
        .await;
        (data, error, emu.origin().to_owned())
    };
    assert!(whole.1.is_none());
    // Each emulator has its own port (in the media links): compare with it masked.
    let mask = |d: &[String], origin: &str| {
        d.iter()
            .map(|s| s.replace(origin, "ORIGIN"))
            .collect::<Vec<_>>()
    };
    let whole_data = mask(&whole.0, &whole.2);
    for split in [1, 3, 7, 64] {
        let emu = emulator(Some(split));
        let (data, error) = drain(
            http(&emu, |_| {})
                .send(&chat("video-chat", true))
                .await
                .unwrap(),
        )
        .await;
        assert!(error.is_none(), "split {split}: {error:?}");
        assert_eq!(mask(&data, emu.origin()), whole_data, "split {split}");
    }
}

#[tokio::test]
async fn a_key_echoed_by_the_relay_is_scrubbed_from_the_error() {
    let emu = emulator(None);
    let error = http(&emu, |_| {})
        .send(&chat("fault-echo-key", false))
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert!(
        api.message
            .contains("Incorrect API key provided: [redacted]."),
        "{}",
        api.message
    );
    let everything = format!("{error} {error:?}");
    assert!(!everything.contains(emu.api_key()), "{everything}");
}

#[tokio::test]
async fn a_stream_that_breaks_before_its_first_event_is_retried() {
    let emu = emulator(None);
    let response = http(&emu, |_| {})
        .send(&chat("fault-drop-then-ok", true))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
    let (data, error) = drain(response).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(content(&data), "You said: hi");
    assert_eq!(chat_requests(&emu).len(), 2);
    // With no retries left, the stream that broke before its first event is the error.
    let fresh = emulator(None);
    let error = http(&fresh, |c| c.max_retries = 0)
        .send(&chat("fault-drop-then-ok", true))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Stream(StreamError::EndedWithoutDone)),
        "{error:?}"
    );
    assert_eq!(chat_requests(&fresh).len(), 1);
    // A stream that breaks after its first events is handed over, and not retried.
    let response = http(&emu, |_| {})
        .send(&chat("fault-no-done", true))
        .await
        .unwrap();
    assert_eq!(response.attempts, 1);
    let (data, error) = drain(response).await;
    assert_eq!(data.len(), 3);
    assert!(
        matches!(error, Some(Error::Stream(StreamError::EndedWithoutDone))),
        "{error:?}"
    );
}

//! What the transport reports through `tracing`. A test binary of its own: `tracing` caches
//! which callsites are enabled process-wide, so a subscriber scoped to one test thread is only
//! reliable when no other test thread emits at the same time.

use quickrouter::transport::{ApiKey, Config, HttpClient, Request};
use quickrouter_tests::emulator;
use serde_json::json;

fn http(emulator: &quickrouter_emulator::Emulator) -> HttpClient {
    HttpClient::new(Config {
        base_url: emulator.base_url(),
        api_key: Some(ApiKey::new(emulator.api_key())),
        ..Config::default()
    })
    .unwrap()
}

fn chat(model: &str) -> Request {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    Request::post_json("/chat/completions", serde_json::to_vec(&body).unwrap())
}

/// Everything `tracing` emits on this thread, formatted.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn traces_show_requests_and_retries_and_never_the_key() {
    let emu = emulator(None);
    let captured = Captured::default();
    let _guard = captured.install();
    let client = http(&emu);
    client.send(&chat("gpt-4o-mini")).await.unwrap();
    client.send(&chat("fault-429-then-ok")).await.unwrap();
    let text = captured.text();
    assert!(text.contains("> POST http://127.0.0.1:"), "{text}");
    assert!(text.contains("authorization: [redacted]"), "{text}");
    assert!(text.contains("< HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("path=/chat/completions"), "{text}");
    assert!(
        text.contains("retrying") && text.contains("delay_ms=1000"),
        "{text}"
    );
    assert!(
        text.contains("status=429") && text.contains("attempt=2"),
        "{text}"
    );
    assert!(!text.contains(emu.api_key()), "{text}");
    assert!(!text.contains("\"messages\""), "no body in traces: {text}");
}

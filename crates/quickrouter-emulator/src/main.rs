//! `cargo run -p quickrouter-emulator -- [--port PORT] [--api-key KEY] [--step-ms MS] [--split N]`

use std::time::Duration;

use quickrouter_emulator::{Emulator, Options};

const USAGE: &str =
    "usage: quickrouter-emulator [--port PORT] [--api-key KEY] [--step-ms MS] [--split N]

  --port PORT        port on 127.0.0.1 (default 8787; 0 = any free port)
  --api-key KEY      the only key accepted (default sk-emulator)
  --step-ms MS       one step of a video job (progress note, task stage; default 400)
  --split N          write streams in pieces of 1..=N bytes";

fn main() -> std::process::ExitCode {
    let mut options = Options {
        port: 8787,
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = match arg.as_str() {
            "--port" => value("--port").and_then(|v| {
                v.parse()
                    .map(|p| options.port = p)
                    .map_err(|e| format!("--port: {e}"))
            }),
            "--api-key" => value("--api-key").map(|v| options.api_key = v),
            "--step-ms" => value("--step-ms").and_then(|v| {
                v.parse()
                    .map(|ms| options.video_step = Duration::from_millis(ms))
                    .map_err(|e| format!("--step-ms: {e}"))
            }),
            "--split" => value("--split").and_then(|v| {
                v.parse()
                    .map(|n| options.split = Some(n))
                    .map_err(|e| format!("--split: {e}"))
            }),
            "-h" | "--help" => {
                println!("{USAGE}");
                return std::process::ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(message) = parsed {
            eprintln!("error: {message}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    }
    let emulator = match Emulator::start(options) {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: could not listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("quickrouter-emulator listening on {}", emulator.base_url());
    println!("try: QUICKROUTER_BASE_URL={} QUICKROUTER_API_KEY={} quickrouter video create -m veo3.1-fast 'a cat surfing'", emulator.base_url(), emulator.api_key());
    loop {
        std::thread::park();
    }
}

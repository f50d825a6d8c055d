//! What every test of the binary shares: running it with a clean environment.

#![allow(dead_code, unused_imports)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

pub use quickrouter_tests::{files_in, media_bytes, scratch, Emulator};

pub const BIN: &str = env!("CARGO_BIN_EXE_quickrouter");

/// An emulator with short video steps (30 ms).
pub fn emulator() -> Emulator {
    quickrouter_tests::emulator_with_step(Duration::from_millis(30), None)
}

/// What a run printed and how it ended.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// The binary with none of the user's `QUICKROUTER_*` variables, pointed at `base_url`.
pub fn command_for(base_url: &str, key: &str) -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "QUICKROUTER_API_KEY",
        "QUICKROUTER_BASE_URL",
        "QUICKROUTER_MODEL",
        "QUICKROUTER_VIDEO_MODEL",
        "QUICKROUTER_FORWARDED_HOST",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("QUICKROUTER_BASE_URL", base_url)
        .env("QUICKROUTER_API_KEY", key);
    cmd
}

/// The binary pointed at `emu`.
pub fn command(emu: &Emulator) -> Command {
    command_for(&emu.base_url(), emu.api_key())
}

/// Run `cmd` with `args`, feeding `stdin` if given (else /dev/null).
pub fn run_with(mut cmd: Command, args: &[&str], stdin: Option<&str>) -> Run {
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// Run the binary against `emu`.
pub fn run(emu: &Emulator, args: &[&str]) -> Run {
    run_with(command(emu), args, None)
}

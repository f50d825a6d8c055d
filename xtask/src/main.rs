//! Project chores: `cargo xtask codegen [--check]`, `cargo xtask ci`, `cargo xtask soak`.

mod bench_report;
mod ci;
mod codegen;

use anyhow::{bail, Result};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  codegen [--check]   regenerate crates/quickrouter-types/src/generated.rs from openapi.yaml
                      (--check: fail if the committed file is stale)
  ci                  everything CI runs: fmt check, clippy -D warnings, codegen --check,
                      all tests, and the Prism contract tests
  bench-report        the table of the last `cargo bench -p quickrouter-benches` run, with ratios
  soak                the soak test: 1,000 sequential and 100 concurrent faulty streams through
                      one client (release build), checking for hangs and leaked fds and tasks";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = codegen::workspace_root();
    match args.as_slice() {
        ["codegen"] => codegen::run(&root, false),
        ["codegen", "--check"] => codegen::run(&root, true),
        ["ci"] => ci::run(&root),
        ["bench-report"] => bench_report::run(&root),
        ["soak"] => soak(&root),
        ["help" | "--help" | "-h"] | [] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("unknown arguments {args:?}\n{USAGE}"),
    }
}

fn soak(root: &std::path::Path) -> Result<()> {
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args([
                "test",
                "--release",
                "-p",
                "quickrouter-tests",
                "--test",
                "soak",
                "--",
                "--ignored",
                "--nocapture",
            ])
            .status()?;
    if !status.success() {
        bail!("the soak test failed");
    }
    Ok(())
}

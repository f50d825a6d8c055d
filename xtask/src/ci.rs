//! `cargo xtask ci`: the one command CI (and the README) runs.
//!
//! 1. `cargo fmt --check`
//! 2. `cargo clippy --workspace --all-targets -- -D warnings`
//! 3. `codegen --check` (generated.rs matches openapi.yaml)
//! 4. `cargo test --workspace` (unit, end-to-end against the emulator, golden CLI files, doc tests)
//! 5. the Prism contract tests: Prism is installed into `.cache/prism` from npm if missing, and
//!    the ignored `contract` tests run against it.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// The Prism version the contract tests run against.
const PRISM: &str = "@stoplight/prism-cli@5.14.2";

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    step("fmt", || cargo(root, &["fmt", "--all", "--", "--check"]))?;
    step("clippy", || {
        cargo(
            root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    step("codegen --check", || crate::codegen::run(root, true))?;
    step("tests", || cargo(root, &["test", "--workspace"]))?;
    let prism = step("install prism", || install_prism(root))?;
    step("contract tests (prism)", || {
        let status = Command::new(cargo_bin())
            .current_dir(root)
            .args([
                "test",
                "-p",
                "quickrouter-cli",
                "--test",
                "contract",
                "--",
                "--ignored",
            ])
            .env("QUICKROUTER_PRISM", &prism)
            .status()
            .context("running cargo")?;
        ensure(status.success(), "contract tests failed")
    })?;
    eprintln!("ci: all green in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("ci: {name}");
    let started = Instant::now();
    let result = f().with_context(|| format!("ci step `{name}` failed"));
    eprintln!("ci: {name} took {:.1}s", started.elapsed().as_secs_f64());
    result
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(cargo_bin())
        .current_dir(root)
        .args(args)
        .status()
        .context("running cargo")?;
    ensure(
        status.success(),
        &format!("cargo {} failed", args.join(" ")),
    )
}

fn ensure(ok: bool, message: &str) -> Result<()> {
    if !ok {
        bail!("{message}");
    }
    Ok(())
}

/// Prism's binary, installed into `.cache/prism` with npm if it is not there yet.
fn install_prism(root: &Path) -> Result<std::path::PathBuf> {
    let prefix = root.join(".cache/prism");
    let bin = prefix.join("node_modules/.bin/prism");
    if bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&prefix)?;
    let status = Command::new("npm")
        .args(["install", "--prefix"])
        .arg(&prefix)
        .args(["--no-audit", "--no-fund", "--loglevel=error", PRISM])
        .status()
        .context("running npm (Node.js and npm are needed for the Prism contract tests)")?;
    ensure(
        status.success() && bin.exists(),
        "npm could not install Prism",
    )?;
    Ok(bin)
}

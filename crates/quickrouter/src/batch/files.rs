//! `results.jsonl` (appended, one whole line per finished job) and `errors.jsonl` (rewritten
//! from the ledger, so a job that succeeds later leaves it).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::Error;

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("{}: {e}", path.display()))
}

/// `results.jsonl`, open for appending.
#[derive(Debug)]
pub struct Results {
    path: PathBuf,
    file: File,
}

impl Results {
    /// Open `DIR/results.jsonl`: a last line cut by a kill is removed first. Returns the file and,
    /// for each custom id its whole lines name, what the line says of the job (request id, usage).
    pub fn open(dir: &Path) -> Result<(Self, HashMap<String, Written>), Error> {
        let path = dir.join("results.jsonl");
        let mut ids = HashMap::new();
        if path.exists() {
            repair(&path)?;
            let file = File::open(&path).map_err(|e| io_error(&path, e))?;
            for line in BufReader::new(file).lines() {
                let line = line.map_err(|e| io_error(&path, e))?;
                if let Some((id, written)) = written_of(&line) {
                    ids.insert(id, written);
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        Ok((Self { path, file }, ids))
    }

    /// Append one line, whole, and flush it to the OS (before the ledger says `done`).
    pub fn append(&mut self, line: &str) -> Result<(), Error> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| io_error(&self.path, e))
    }
}

/// Cut a file back to its last newline (a line a kill cut in half).
fn repair(path: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let keep = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    if keep < bytes.len() {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        file.set_len(keep as u64).map_err(|e| io_error(path, e))?;
        file.sync_all().map_err(|e| io_error(path, e))?;
    }
    Ok(())
}

/// What a result line records of its job, for a rerun that finds a line the ledger missed.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The response's request id.
    pub request_id: Option<String>,
    /// The token usage in the body.
    pub usage: super::Usage,
}

fn written_of(line: &str) -> Option<(String, Written)> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let id = value.get("custom_id")?.as_str()?.to_owned();
    let response = &value["response"];
    let usage = &response["body"]["usage"];
    let count = |key: &str| usage[key].as_u64().unwrap_or(0);
    Some((
        id,
        Written {
            request_id: response["request_id"].as_str().map(str::to_owned),
            usage: super::Usage {
                prompt_tokens: count("prompt_tokens"),
                completion_tokens: count("completion_tokens"),
                total_tokens: count("total_tokens"),
            },
        },
    ))
}

/// The `custom_id` of a result line.
pub fn custom_id_of(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("custom_id")?.as_str().map(str::to_owned)
}

/// Write `DIR/errors.jsonl` whole (to a temporary file, then renamed over the old one).
pub fn write_errors(dir: &Path, lines: &[String]) -> Result<(), Error> {
    let path = dir.join("errors.jsonl");
    let tmp = dir.join("errors.jsonl.tmp");
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&tmp, text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))
}

/// The lines of `DIR/results.jsonl`, unchanged (whole lines only).
pub fn result_lines(dir: &Path) -> Result<Vec<String>, Error> {
    let path = dir.join("results.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    let whole = match text.rfind('\n') {
        Some(at) => &text[..=at],
        None => "",
    };
    Ok(whole.lines().map(str::to_owned).collect())
}

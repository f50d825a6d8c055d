//! The ledger: each job's state in an SQLite database in the output directory, written in
//! transactions, so a kill at any moment leaves a state the next run can resume from.
//!
//! ```sql
//! jobs(custom_id PRIMARY KEY, line, kind, state, attempts, task_id, request_id,
//!      prompt_tokens, completion_tokens, total_tokens, error_code, error_line, updated_at)
//! ```
//! `state` is one of `pending`, `sent` (the request may be on the wire), `accepted` (a video task
//! the relay took, `task_id` set), `done`, `failed` (`error_line` holds its `errors.jsonl` line).

use std::path::Path;

use rusqlite::{params, Connection};

use super::{Job, JobKind};
use crate::Error;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started (or to be sent again).
    Pending,
    /// Sent; no answer recorded yet.
    Sent,
    /// A video task the relay accepted.
    Accepted,
    /// Finished; its line is in `results.jsonl`.
    Done,
    /// Failed; its line is in `errors.jsonl`.
    Failed,
}

impl State {
    /// The word stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Accepted => "accepted",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "sent" => State::Sent,
            "accepted" => State::Accepted,
            "done" => State::Done,
            "failed" => State::Failed,
            _ => State::Pending,
        }
    }
}

/// One job's row.
#[derive(Debug, Clone)]
pub struct Row {
    /// The job's id.
    pub custom_id: String,
    /// Where it stands.
    pub state: State,
    /// Requests sent for it, over every run.
    pub attempts: u32,
    /// The video task the relay accepted, if any.
    pub task_id: Option<String>,
    /// Why it failed, if it did.
    pub error_code: Option<String>,
}

/// Token usage summed over the done jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// All tokens.
    pub total_tokens: u64,
}

/// The ledger.
pub struct Ledger {
    db: Connection,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").finish_non_exhaustive()
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Config(format!("the batch ledger: {e}"))
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    custom_id TEXT PRIMARY KEY,
    line INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    task_id TEXT,
    request_id TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_line TEXT,
    updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
";

impl Ledger {
    /// Open (or create) `DIR/ledger.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let db = Connection::open(dir.join("ledger.sqlite3")).map_err(db_error)?;
        // WAL: a reader (`batch status`) never blocks the run; NORMAL sync survives a process
        // kill (the WAL is in the OS's cache), which is what a resume needs.
        db.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(db_error)?;
        Self::init(db)
    }

    /// A ledger in memory (for measuring what the file costs).
    pub fn in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory().map_err(db_error)?)
    }

    fn init(db: Connection) -> Result<Self, Error> {
        db.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(Self { db })
    }

    /// Add the jobs not known yet, as pending, in one transaction.
    pub fn add(&mut self, jobs: &[Job]) -> Result<(), Error> {
        let tx = self.db.transaction().map_err(db_error)?;
        {
            let mut insert = tx
                .prepare("INSERT OR IGNORE INTO jobs (custom_id, line, kind) VALUES (?1, ?2, ?3)")
                .map_err(db_error)?;
            for job in jobs {
                insert
                    .execute(params![job.custom_id, job.line as i64, job.kind.as_str()])
                    .map_err(db_error)?;
            }
        }
        tx.commit().map_err(db_error)
    }

    /// Every job's row.
    pub fn rows(&self) -> Result<Vec<Row>, Error> {
        let mut query = self
            .db
            .prepare(
                "SELECT custom_id, state, attempts, task_id, error_code FROM jobs ORDER BY line",
            )
            .map_err(db_error)?;
        let rows = query
            .query_map([], |r| {
                Ok(Row {
                    custom_id: r.get(0)?,
                    state: State::parse(&r.get::<_, String>(1)?),
                    attempts: r.get::<_, i64>(2)? as u32,
                    task_id: r.get(3)?,
                    error_code: r.get(4)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    fn set(&mut self, sql: &str, args: impl rusqlite::Params) -> Result<(), Error> {
        let tx = self.db.transaction().map_err(db_error)?;
        tx.execute(sql, args).map_err(db_error)?;
        tx.commit().map_err(db_error)
    }

    /// The request is about to be written.
    pub fn sent(&mut self, custom_id: &str) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='sent', attempts=attempts+1, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![custom_id],
        )
    }

    /// Back to pending (a retryable failure, or a chat job found in flight by a rerun).
    pub fn pending(&mut self, custom_id: &str) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='pending', error_code=NULL, error_line=NULL, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![custom_id],
        )
    }

    /// A video task the relay took.
    pub fn accepted(
        &mut self,
        custom_id: &str,
        task_id: &str,
        request_id: Option<&str>,
    ) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='accepted', task_id=?2, request_id=?3, error_code=NULL, error_line=NULL, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![custom_id, task_id, request_id],
        )
    }

    /// Finished (its result line is already written).
    pub fn done(
        &mut self,
        custom_id: &str,
        request_id: Option<&str>,
        usage: Usage,
    ) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='done', request_id=COALESCE(?2, request_id), prompt_tokens=?3, completion_tokens=?4, total_tokens=?5, error_code=NULL, error_line=NULL, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![
                custom_id,
                request_id,
                usage.prompt_tokens as i64,
                usage.completion_tokens as i64,
                usage.total_tokens as i64
            ],
        )
    }

    /// A chat job finished after `tries` requests this run (chat jobs are not marked `sent`: one
    /// in flight at a kill is sent again, so the attempts are counted here, in one write).
    pub fn done_after(
        &mut self,
        custom_id: &str,
        request_id: Option<&str>,
        usage: Usage,
        tries: u32,
    ) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='done', attempts=attempts+?6, request_id=COALESCE(?2, request_id), prompt_tokens=?3, completion_tokens=?4, total_tokens=?5, error_code=NULL, error_line=NULL, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![
                custom_id,
                request_id,
                usage.prompt_tokens as i64,
                usage.completion_tokens as i64,
                usage.total_tokens as i64,
                i64::from(tries)
            ],
        )
    }

    /// Failed, with its `errors.jsonl` line.
    pub fn failed(&mut self, custom_id: &str, code: &str, line: &str) -> Result<(), Error> {
        self.set(
            "UPDATE jobs SET state='failed', error_code=?2, error_line=?3, updated_at=strftime('%s','now') WHERE custom_id=?1",
            params![custom_id, code, line],
        )
    }

    /// The `errors.jsonl` lines of the failed jobs, in input order.
    pub fn error_lines(&self) -> Result<Vec<String>, Error> {
        let mut query = self
            .db
            .prepare("SELECT error_line FROM jobs WHERE state='failed' AND error_line IS NOT NULL ORDER BY line")
            .map_err(db_error)?;
        let lines = query.query_map([], |r| r.get(0)).map_err(db_error)?;
        lines.collect::<Result<_, _>>().map_err(db_error)
    }

    /// Counts by state, and the usage of the done jobs.
    pub fn summary(&self) -> Result<Summary, Error> {
        let mut summary = Summary::default();
        let mut query = self
            .db
            .prepare("SELECT state, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(total_tokens) FROM jobs GROUP BY state")
            .map_err(db_error)?;
        let mut rows = query.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let state = State::parse(&row.get::<_, String>(0).map_err(db_error)?);
            let count = row.get::<_, i64>(1).map_err(db_error)? as u64;
            summary.total += count;
            match state {
                State::Done => summary.done += count,
                State::Failed => summary.failed += count,
                State::Pending => summary.pending += count,
                State::Sent | State::Accepted => summary.running += count,
            }
            summary.usage.prompt_tokens +=
                row.get::<_, Option<i64>>(2).map_err(db_error)?.unwrap_or(0) as u64;
            summary.usage.completion_tokens +=
                row.get::<_, Option<i64>>(3).map_err(db_error)?.unwrap_or(0) as u64;
            summary.usage.total_tokens +=
                row.get::<_, Option<i64>>(4).map_err(db_error)?.unwrap_or(0) as u64;
        }
        Ok(summary)
    }
}

/// Where a batch stands: `quickrouter batch status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Jobs in the ledger.
    pub total: u64,
    /// Finished, in `results.jsonl`.
    pub done: u64,
    /// Failed, in `errors.jsonl`.
    pub failed: u64,
    /// Not started.
    pub pending: u64,
    /// Sent, or accepted and being generated.
    pub running: u64,
    /// Token usage of the done jobs.
    pub usage: Usage,
}

impl JobKind {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            JobKind::Chat => "chat",
            JobKind::Video(crate::videos::VideoApi::OpenAi) => "video_openai",
            JobKind::Video(_) => "video_unified",
        }
    }
}

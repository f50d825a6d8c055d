//! `quickrouter batch run|status|merge`: parsing and display only; the runner is
//! `quickrouter::batch`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use quickrouter::batch::{self, BatchOptions, Event, Job, Summary};
use quickrouter::videos::WaitOptions;
use quickrouter::Client;

use crate::args::{seconds, Input, OutputFormat};
use crate::exit::{Code, Failure};
use crate::output::Ui;

#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: BatchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Run the jobs of a JSONL file (OpenAI Batch input format) into DIR; rerun to resume
    Run(RunArgs),
    /// Counts by state and the token usage so far of a batch directory
    Status {
        /// The batch's directory (its --out)
        dir: PathBuf,
    },
    /// Print the results.jsonl lines of several directories (shards), unchanged
    Merge {
        /// The directories
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The jobs: one {"custom_id", "method"?, "url", "body"} a line; url /v1/chat/completions,
    /// /v1/video/create or /v1/videos
    pub jobs: PathBuf,
    /// Where results.jsonl, errors.jsonl, media/ and the ledger go (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The most requests at once (the window starts there, halves on 429s, grows back)
    #[arg(long, value_name = "N", default_value = "8")]
    pub concurrency: usize,
    /// Take only the jobs whose custom_id hashes to K of N (0 ≤ K < N): one shard per machine
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Run again the jobs that failed before (a video with a task id is polled, not created)
    #[arg(long)]
    pub retry_failed: bool,
    /// Seconds between polls of a video task (default: the relay's pace, else 5)
    #[arg(long, value_name = "SECS")]
    pub poll_interval: Option<f64>,
    /// The longest wait for one video, in seconds
    #[arg(long, value_name = "SECS", default_value = "1800")]
    pub max_wait: f64,
}

/// A batch command, validated.
#[derive(Debug)]
pub enum BatchSettings {
    Run {
        jobs: Vec<Job>,
        out: PathBuf,
        options: BatchOptions,
    },
    Status(PathBuf),
    Merge(Vec<PathBuf>),
}

impl BatchArgs {
    /// Everything local, before anything is sent: every line of the input is validated.
    pub fn settings(&self, input: &mut dyn Input) -> Result<BatchSettings, Failure> {
        match &self.command {
            BatchCommand::Status { dir } => Ok(BatchSettings::Status(dir.clone())),
            BatchCommand::Merge { dirs } => Ok(BatchSettings::Merge(dirs.clone())),
            BatchCommand::Run(args) => {
                let text = input.file(&args.jobs)?;
                let mut jobs = batch::parse_jobs(&text)
                    .map_err(|e| Failure::usage(format!("{}: {e}", args.jobs.display())))?;
                if jobs.is_empty() {
                    return Err(Failure::usage(format!(
                        "{} holds no jobs",
                        args.jobs.display()
                    )));
                }
                if let Some(shard) = &args.shard {
                    let bad = || {
                        Failure::usage(format!(
                            "invalid --shard {shard:?}: expected K/N with 0 ≤ K < N"
                        ))
                    };
                    let (k, n) = shard.split_once('/').ok_or_else(bad)?;
                    let k: u32 = k.trim().parse().map_err(|_| bad())?;
                    let n: u32 = n.trim().parse().map_err(|_| bad())?;
                    if n == 0 || k >= n {
                        return Err(bad());
                    }
                    jobs = batch::shard(jobs, k, n);
                }
                if args.concurrency == 0 {
                    return Err(Failure::usage("--concurrency must be at least 1"));
                }
                let poll = WaitOptions {
                    interval: args
                        .poll_interval
                        .map(|s| seconds("--poll-interval", s))
                        .transpose()?,
                    max_wait: seconds("--max-wait", args.max_wait)?,
                    ..WaitOptions::default()
                };
                Ok(BatchSettings::Run {
                    jobs,
                    out: args.out.clone(),
                    options: BatchOptions {
                        concurrency: args.concurrency,
                        retry_failed: args.retry_failed,
                        poll,
                        ..BatchOptions::default()
                    },
                })
            }
        }
    }
}

/// Run a batch command.
pub async fn run(
    client: &Client,
    settings: BatchSettings,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    match settings {
        BatchSettings::Run { jobs, out, options } => run_jobs(client, jobs, out, options, ui).await,
        local_only => local(local_only, format, ui),
    }
}

/// `status` and `merge`: local files only.
pub fn local(settings: BatchSettings, format: OutputFormat, ui: &Ui) -> Result<(), Failure> {
    match settings {
        BatchSettings::Status(dir) => {
            let summary = batch::status(&dir).map_err(|e| Failure::usage(e.to_string()))?;
            print_summary(&summary, format, ui);
            Ok(())
        }
        BatchSettings::Merge(dirs) => {
            let lines = batch::merge(&dirs).map_err(|e| Failure::usage(e.to_string()))?;
            for line in lines {
                ui.out(&line);
                ui.out("\n");
            }
            Ok(())
        }
        BatchSettings::Run { .. } => Err(Failure::usage("batch run needs the API")),
    }
}

fn print_summary(summary: &Summary, format: OutputFormat, ui: &Ui) {
    match format {
        OutputFormat::Text => ui.out(&format!(
            "total {}\ndone {}\nfailed {}\npending {}\nrunning {}\nprompt_tokens {}\ncompletion_tokens {}\ntotal_tokens {}\n",
            summary.total,
            summary.done,
            summary.failed,
            summary.pending,
            summary.running,
            summary.usage.prompt_tokens,
            summary.usage.completion_tokens,
            summary.usage.total_tokens
        )),
        _ => ui.out(&format!(
            "{}\n",
            serde_json::to_string(summary).unwrap_or_default()
        )),
    }
}

/// Counts for the display, shared with the ticker that prints a status line when piped.
#[derive(Default)]
struct Counts {
    done: u64,
    failed: u64,
    running: u64,
    todo: u64,
    finished_now: u64,
}

async fn run_jobs(
    client: &Client,
    jobs: Vec<Job>,
    out: PathBuf,
    options: BatchOptions,
    ui: &Ui,
) -> Result<(), Failure> {
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", out.display())))?;
    let counts = Arc::new(Mutex::new(Counts::default()));
    let started = Instant::now();
    let bar = ui.batch_bar();
    let mut videos: std::collections::HashMap<String, indicatif::ProgressBar> = Default::default();

    // When stderr is not a terminal: a status line every 10 s.
    let ticker = (!ui.interactive()).then(|| {
        let counts = counts.clone();
        let ui = ui.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            every.tick().await;
            loop {
                every.tick().await;
                let c = counts.lock().unwrap_or_else(|e| e.into_inner());
                let rate = c.finished_now as f64 / started.elapsed().as_secs_f64().max(0.001);
                ui.note(&format!(
                    "batch: {} done, {} failed, {} running, {} to go ({rate:.1} jobs/s)",
                    c.done,
                    c.failed,
                    c.running,
                    c.todo.saturating_sub(c.finished_now)
                ));
            }
        })
    });

    // Ctrl-C: stop starting jobs, give in-flight ones the grace period; a second one exits now.
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        tokio::spawn(async {
            let _ = tokio::signal::ctrl_c().await;
            std::process::exit(130);
        });
    };
    let report = batch::run(client, jobs, &out, options, stop, |event| {
        let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Start { todo, summary } => {
                c.todo = *todo;
                c.done = summary.done;
                c.failed = summary.failed;
                bar.set_length(summary.total);
                bar.set_position(summary.done + summary.failed);
            }
            Event::Sent { .. } => c.running += 1,
            Event::Accepted { custom_id, task_id } => {
                let line = ui.task_bar(custom_id);
                line.set_message(format!("task {task_id}"));
                videos.insert(custom_id.clone(), line);
            }
            Event::Progress {
                custom_id,
                status,
                progress,
            } => {
                if let Some(line) = videos.get(custom_id) {
                    line.set_message(status.clone());
                    line.set_position(u64::from(progress.unwrap_or(0)));
                }
            }
            Event::Done { custom_id } | Event::Failed { custom_id, .. } => {
                if matches!(event, Event::Done { .. }) {
                    c.done += 1;
                } else {
                    c.failed += 1;
                }
                c.running = c.running.saturating_sub(1);
                c.finished_now += 1;
                bar.inc(1);
                if let Some(line) = videos.remove(custom_id) {
                    line.finish_and_clear();
                }
            }
            Event::Retrying { .. } => c.running = c.running.saturating_sub(1),
            Event::Stopping => {
                ui.note("stopping: no new jobs; in-flight ones get 10 s (Ctrl-C again to quit now)")
            }
            _ => {}
        }
        bar.set_message(format!("{} failed · {} running", c.failed, c.running));
    })
    .await
    .map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    bar.finish_and_clear();
    for line in videos.into_values() {
        line.finish_and_clear();
    }
    let summary = report.summary;
    let elapsed = started.elapsed().as_secs_f64();
    ui.note(&format!(
        "batch: {} done, {} failed, {} pending, {} running of {} ({} requests, {} refused for load, {:.1} s)",
        summary.done, summary.failed, summary.pending, summary.running, summary.total, report.sent, report.throttled, elapsed
    ));
    if let Some(error) = report.fatal {
        let mut failure = Failure::from_error(&error);
        failure.message = format!("the batch stopped: {}", failure.message);
        return Err(failure);
    }
    if report.stopped {
        ui.note(&format!(
            "interrupted: rerun the same command to resume ({})",
            out.display()
        ));
        return Err(Failure::new(Code::Interrupted, "interrupted"));
    }
    if summary.failed > 0 {
        return Err(Failure::new(
            Code::SomeFailed,
            format!(
                "{} of {} jobs failed (see {})",
                summary.failed,
                summary.total,
                out.join("errors.jsonl").display()
            ),
        ));
    }
    Ok(())
}

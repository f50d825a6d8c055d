//! All printing goes through here: stdout carries only the answer, stderr everything else
//! (reasoning, progress, bars, traces, saved paths, errors).
//!
//! Bars and spinners are `indicatif`'s, drawn on stderr only when it is a terminal and neither
//! `--quiet`, `NO_COLOR` nor `TERM=dumb` says otherwise; colour (dimmed reasoning) follows the
//! same rule. When stdout is a closed pipe (`quickrouter chat … | head`), the program ends
//! quietly with status 0.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The terminal, shared by the tasks that print.
#[derive(Clone)]
pub struct Ui {
    inner: Arc<Inner>,
}

struct Inner {
    quiet: bool,
    bars: bool,
    color: bool,
    multi: MultiProgress,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    spinner: Option<ProgressBar>,
    stdout_written: bool,
    stdout_ends_with_newline: bool,
    stderr_ends_with_newline: bool,
    interrupt_hint: Option<String>,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let styled = tty && !no_color && !dumb;
        Self::with(quiet, styled, styled)
    }

    fn with(quiet: bool, bars: bool, color: bool) -> Self {
        let bars = bars && !quiet;
        let target = if bars {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            inner: Arc::new(Inner {
                quiet,
                bars,
                color,
                multi: MultiProgress::with_draw_target(target),
                state: Mutex::new(State {
                    stdout_ends_with_newline: true,
                    stderr_ends_with_newline: true,
                    ..State::default()
                }),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answer text on stdout. A closed stdout ends the program quietly.
    pub fn out(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut state = self.lock();
        if let Some(spinner) = state.spinner.take() {
            spinner.finish_and_clear();
        }
        end_stderr_line(&mut state);
        let result = self.inner.multi.suspend(|| {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        });
        if let Err(e) = result {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
        state.stdout_written = true;
        state.stdout_ends_with_newline = text.ends_with('\n');
    }

    /// End the answer with a newline, if it does not end with one already (and reasoning too).
    pub fn finish_out(&self) {
        let needs = {
            let mut state = self.lock();
            end_stderr_line(&mut state);
            state.stdout_written && !state.stdout_ends_with_newline
        };
        if needs {
            self.out("\n");
        }
    }

    /// Reasoning or progress text on stderr, dimmed on a terminal; hidden with --quiet.
    pub fn reasoning(&self, text: &str) {
        if self.inner.quiet || text.is_empty() {
            return;
        }
        let mut state = self.lock();
        self.inner.multi.suspend(|| {
            let mut stderr = std::io::stderr().lock();
            let _ = if self.inner.color {
                write!(stderr, "{DIM}{text}{RESET}")
            } else {
                stderr.write_all(text.as_bytes())
            };
            let _ = stderr.flush();
        });
        state.stderr_ends_with_newline = text.ends_with('\n');
    }

    /// A line on stderr (saved paths, task ids, warnings, traces, errors), never hidden.
    pub fn note(&self, line: &str) {
        let mut state = self.lock();
        let lead = if state.stderr_ends_with_newline {
            ""
        } else {
            "\n"
        };
        self.inner.multi.suspend(|| {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{lead}{line}");
            let _ = stderr.flush();
        });
        state.stderr_ends_with_newline = true;
    }

    /// Start the spinner: drawn until content arrives, with the elapsed time and the latest
    /// percentage (terminal only).
    pub fn start_spinner(&self) {
        if !self.inner.bars {
            return;
        }
        let spinner = self.inner.multi.add(ProgressBar::new_spinner());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} waiting {elapsed}{msg}")
                .expect("a valid template")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
        );
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.lock().spinner = Some(spinner);
    }

    /// The latest progress percentage, for the spinner.
    pub fn set_percent(&self, percent: f32) {
        if let Some(spinner) = &self.lock().spinner {
            spinner.set_message(format!(" · {percent:.0}%"));
        }
    }

    /// Stop and clear the spinner.
    pub fn stop_spinner(&self) {
        if let Some(spinner) = self.lock().spinner.take() {
            spinner.finish_and_clear();
        }
    }

    /// A bar for a video task: status, percent, elapsed (hidden off a terminal).
    pub fn task_bar(&self, id: &str) -> ProgressBar {
        let bar = self.inner.multi.add(ProgressBar::new(100));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} {wide_msg} [{bar:24}] {pos:>3}% {elapsed}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(short(id, 40));
        if self.inner.bars {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        bar
    }

    /// Whether bars are drawn.
    pub fn interactive(&self) -> bool {
        self.inner.bars
    }

    /// The overall bar of a batch: jobs finished, failed and running, rate, ETA.
    pub fn batch_bar(&self) -> ProgressBar {
        let bar = self.inner.multi.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "batch [{bar:30}] {pos}/{len} done · {msg} · {per_sec} · ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        if self.inner.bars {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        bar
    }

    /// A bar for a download: bytes, rate (hidden off a terminal).
    pub fn download_bar(&self, name: &str) -> ProgressBar {
        let bar = self.inner.multi.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(short(name, 40));
        bar
    }

    /// What to say if the user interrupts now (e.g. how to resume a video task).
    pub fn set_interrupt_hint(&self, hint: &str) {
        self.lock().interrupt_hint = Some(hint.to_owned());
    }

    /// Clear every bar, end a half-written line, say the hint: the program is about to exit.
    pub fn interrupted(&self) {
        let hint = {
            let mut state = self.lock();
            if let Some(spinner) = state.spinner.take() {
                spinner.finish_and_clear();
            }
            state.interrupt_hint.take()
        };
        let _ = self.inner.multi.clear();
        self.finish_out();
        self.note(&format!(
            "interrupted{}",
            hint.map(|h| format!(": {h}")).unwrap_or_default()
        ));
    }
}

fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Reasoning that stopped mid-line gets its line ended before the answer or the end.
fn end_stderr_line(state: &mut State) {
    if !state.stderr_ends_with_newline {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr);
        let _ = stderr.flush();
        state.stderr_ends_with_newline = true;
    }
}

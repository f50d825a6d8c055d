//! All printing goes through here: stdout carries only the answer, stderr everything else
//! (reasoning, progress, the spinner, traces, saved paths, errors).
//!
//! On a terminal, stderr shows a spinner with the elapsed time and the latest progress
//! percentage while a stream has produced no content yet; reasoning is dimmed. When stdout is a
//! closed pipe (`quickrouter chat … | head`), the program ends quietly with status 0.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const CLEAR_LINE: &str = "\r\x1b[K";

/// The terminal, shared by the tasks that print.
#[derive(Clone)]
pub struct Ui {
    state: Arc<Mutex<State>>,
    stderr_tty: bool,
    quiet: bool,
}

struct State {
    spinner: Option<Spinner>,
    /// A spinner or progress line is on screen and must be cleared before other output.
    line_drawn: bool,
    stdout_written: bool,
    stdout_ends_with_newline: bool,
    stderr_ends_with_newline: bool,
}

struct Spinner {
    started: Instant,
    percent: Option<f32>,
    frame: usize,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Self::with_terminal(quiet, std::io::stderr().is_terminal())
    }

    pub fn with_terminal(quiet: bool, stderr_tty: bool) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                spinner: None,
                line_drawn: false,
                stdout_written: false,
                stdout_ends_with_newline: true,
                stderr_ends_with_newline: true,
            })),
            stderr_tty,
            quiet,
        }
    }

    /// Whether progress lines (spinner, download bar) are drawn.
    pub fn interactive(&self) -> bool {
        self.stderr_tty && !self.quiet
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answer text on stdout. A closed stdout ends the program quietly.
    pub fn out(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut state = self.lock();
        clear_line(&mut state);
        state.spinner = None;
        end_stderr_line(&mut state);
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
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
        if self.quiet || text.is_empty() {
            return;
        }
        let mut state = self.lock();
        clear_line(&mut state);
        let mut stderr = std::io::stderr().lock();
        let _ = if self.stderr_tty {
            write!(stderr, "{DIM}{text}{RESET}")
        } else {
            stderr.write_all(text.as_bytes())
        };
        let _ = stderr.flush();
        state.stderr_ends_with_newline = text.ends_with('\n');
    }

    /// A line on stderr (saved paths, warnings, traces), never hidden.
    pub fn note(&self, line: &str) {
        let mut state = self.lock();
        clear_line(&mut state);
        let mut stderr = std::io::stderr().lock();
        let lead = if state.stderr_ends_with_newline {
            ""
        } else {
            "\n"
        };
        let _ = writeln!(stderr, "{lead}{line}");
        state.stderr_ends_with_newline = true;
    }

    /// Start the spinner (it is drawn only on a terminal, and only until content arrives).
    pub fn start_spinner(&self) {
        if self.interactive() {
            self.lock().spinner = Some(Spinner {
                started: Instant::now(),
                percent: None,
                frame: 0,
            });
        }
    }

    /// The latest progress percentage, for the spinner.
    pub fn set_percent(&self, percent: f32) {
        if let Some(spinner) = &mut self.lock().spinner {
            spinner.percent = Some(percent);
        }
    }

    /// Stop and clear the spinner.
    pub fn stop_spinner(&self) {
        let mut state = self.lock();
        clear_line(&mut state);
        state.spinner = None;
    }

    /// Redraw the spinner; false once it is gone.
    pub fn tick(&self) -> bool {
        let mut state = self.lock();
        let Some(spinner) = &mut state.spinner else {
            return false;
        };
        spinner.frame = (spinner.frame + 1) % FRAMES.len();
        let elapsed = spinner.started.elapsed().as_secs_f64();
        let mut line = format!("{} waiting {elapsed:.1}s", FRAMES[spinner.frame]);
        if let Some(p) = spinner.percent {
            line.push_str(&format!(" · {p:.0}%"));
        }
        let lead = if state.stderr_ends_with_newline {
            ""
        } else {
            "\n"
        };
        state.stderr_ends_with_newline = true;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{lead}{CLEAR_LINE}{DIM}{line}{RESET}");
        let _ = stderr.flush();
        state.line_drawn = true;
        true
    }

    /// Run the spinner until it stops (call inside the runtime; the task ends by itself).
    pub fn spawn_spinner(&self) {
        if !self.interactive() {
            return;
        }
        let ui = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if !ui.tick() {
                    break;
                }
            }
        });
    }

    /// A download progress line (terminal only).
    pub fn progress_line(&self, line: &str) {
        if !self.interactive() {
            return;
        }
        let mut state = self.lock();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{CLEAR_LINE}{line}");
        let _ = stderr.flush();
        state.line_drawn = true;
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

fn clear_line(state: &mut State) {
    if state.line_drawn {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{CLEAR_LINE}");
        let _ = stderr.flush();
        state.line_drawn = false;
    }
}

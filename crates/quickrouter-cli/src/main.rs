//! `quickrouter`: the QuickRouter command-line client. See `quickrouter --help`.

mod args;
mod cmd;
mod exit;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use quickrouter::Client;

use args::{Cli, Command, Connection, Input, ProcessEnv};
use exit::{error_line, Code, Failure};
use output::Ui;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                Code::Usage
            } else {
                Code::Ok
            };
            let _ = error.print();
            return ExitCode::from(code as u8);
        }
    };
    let ui = Ui::new(cli.global.quiet);
    match run(cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.code == Code::Interrupted => ExitCode::from(130),
        Err(failure) => {
            ui.stop_spinner();
            ui.note(&error_line(&failure.message));
            ExitCode::from(failure.code as u8)
        }
    }
}

/// What a command needs once its local input is validated.
enum Job {
    Chat(cmd::chat::ChatSettings),
    Video(cmd::video::VideoSettings),
    Batch(cmd::batch::BatchSettings),
    Models,
}

fn run(cli: Cli, ui: &Ui) -> Result<(), Failure> {
    let env = ProcessEnv;
    // Everything local is checked before anything is sent.
    let job = match &cli.command {
        Command::Completions { shell } => {
            cmd::completions::run(*shell);
            return Ok(());
        }
        Command::Chat(args) => Job::Chat(args.settings(&env, &mut StdInput)?),
        Command::Video(args) => Job::Video(args.settings(&env, &mut StdInput)?),
        Command::Batch(args) => Job::Batch(args.settings(&mut StdInput)?),
        Command::Models => Job::Models,
    };
    let connection = cli.global.connection(&env)?;
    if connection.verbose {
        install_tracing();
    }
    // `batch status` and `batch merge` read local files only: no key needed.
    if let Job::Batch(
        settings @ (cmd::batch::BatchSettings::Status(_) | cmd::batch::BatchSettings::Merge(_)),
    ) = job
    {
        return cmd::batch::local(settings, cli.global.output, ui);
    }
    let client = client(&connection)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Code::ServerError,
                format!("could not start the runtime: {e}"),
            )
        })?;
    let format = cli.global.output;
    if let Job::Batch(settings) = job {
        // The batch runner handles Ctrl-C itself: it lets in-flight requests finish.
        return runtime.block_on(cmd::batch::run(&client, settings, format, ui));
    }
    runtime.block_on(async {
        let work = async {
            match job {
                Job::Chat(settings) => cmd::chat::run(&client, settings, format, ui).await,
                Job::Video(settings) => cmd::video::run(&client, settings, format, ui).await,
                Job::Batch(_) => unreachable!("run above"),
                Job::Models => cmd::models::run(&client, format, ui).await,
            }
        };
        tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => {
                ui.interrupted();
                // A second Ctrl-C during the exit is not waited for: nothing is left to wait on.
                Err(Failure::new(Code::Interrupted, "interrupted"))
            }
        }
    })
}

/// `-v`: requests, responses, headers (the key redacted) and retries on stderr.
fn install_tracing() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(
            Targets::new()
                .with_target("quickrouter", LevelFilter::DEBUG)
                .with_target("quickrouter_transport", LevelFilter::DEBUG),
        )
        .try_init();
}

fn client(connection: &Connection) -> Result<Client, Failure> {
    let Some(key) = &connection.api_key else {
        return Err(Failure::usage(format!(
            "missing API key: set {} or pass --api-key",
            quickrouter::ENV_API_KEY
        )));
    };
    let mut builder = Client::builder()
        .api_key(key)
        .base_url(&connection.base_url)
        .timeout(connection.timeout)
        .idle_timeout(connection.idle_timeout)
        .max_retries(connection.max_retries);
    if let Some(limit) = connection.max_time {
        builder = builder.deadline(limit);
    }
    if let Some(host) = &connection.forwarded_host {
        builder = builder.forwarded_host(host);
    }
    for (name, value) in &connection.headers {
        builder = builder.header(name, value);
    }
    builder.build().map_err(|e| Failure::from_error(&e))
}

/// Standard input and files of the real process.
struct StdInput;

impl Input for StdInput {
    fn stdin(&mut self) -> Result<String, Failure> {
        use std::io::Read;
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        Ok(text)
    }

    fn stdin_is_piped(&self) -> bool {
        if std::io::stdin().is_terminal() {
            return false;
        }
        stdin_is_pipe_or_file()
    }
}

/// A pipe or a redirected file; not /dev/null or an inherited socket, which would make
/// `quickrouter chat words` wait for input nobody sends.
#[cfg(unix)]
fn stdin_is_pipe_or_file() -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata("/dev/stdin").is_ok_and(|m| m.file_type().is_fifo() || m.is_file())
}

/// Elsewhere: any non-terminal stdin counts as piped.
#[cfg(not(unix))]
fn stdin_is_pipe_or_file() -> bool {
    true
}

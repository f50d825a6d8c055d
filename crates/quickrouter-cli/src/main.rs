//! `quickrouter`: the QuickRouter command-line client. See `quickrouter --help`.

mod args;
mod chat;
mod download;
mod exit;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use quickrouter::Client;

use args::{Cli, Command, Connection, Input, OutputFormat, ProcessEnv, Shell};
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
        Err(failure) => {
            ui.stop_spinner();
            ui.note(&error_line(&failure.message));
            ExitCode::from(failure.code as u8)
        }
    }
}

fn run(cli: Cli, ui: &Ui) -> Result<(), Failure> {
    if let Command::Completions { shell } = cli.command {
        let mut command = Cli::command();
        let mut out = std::io::stdout();
        match shell {
            Shell::Bash => clap_complete::generate(
                clap_complete::Shell::Bash,
                &mut command,
                "quickrouter",
                &mut out,
            ),
            Shell::Zsh => clap_complete::generate(
                clap_complete::Shell::Zsh,
                &mut command,
                "quickrouter",
                &mut out,
            ),
            Shell::Fish => clap_complete::generate(
                clap_complete::Shell::Fish,
                &mut command,
                "quickrouter",
                &mut out,
            ),
        }
        return Ok(());
    }
    let env = ProcessEnv;
    let connection = cli.global.connection(&env)?;
    // Everything local is checked before anything is sent.
    let chat_settings = match &cli.command {
        Command::Chat(chat) => Some(chat.settings(&env, &mut StdInput)?),
        _ => None,
    };
    let client = client(&connection, ui)?;
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
    runtime.block_on(async {
        match chat_settings {
            Some(settings) => chat::run(&client, &connection, settings, format, ui).await,
            None => models(&client, format, ui).await,
        }
    })
}

fn client(connection: &Connection, ui: &Ui) -> Result<Client, Failure> {
    let Some(key) = &connection.api_key else {
        return Err(Failure::usage(
            "missing API key: set QUICKROUTER_API_KEY or pass --api-key",
        ));
    };
    let mut builder = Client::builder()
        .api_key(key)
        .base_url(&connection.base_url)
        .timeout(connection.timeout)
        .idle_timeout(connection.idle_timeout)
        .max_retries(connection.max_retries);
    if let Some(host) = &connection.forwarded_host {
        builder = builder.forwarded_host(host);
    }
    for (name, value) in &connection.headers {
        builder = builder.header(name, value);
    }
    if connection.verbose {
        let ui = ui.clone();
        builder = builder.trace(move |line| ui.note(line));
    }
    builder.build().map_err(|e| Failure::from_error(&e, None))
}

async fn models(client: &Client, format: OutputFormat, ui: &Ui) -> Result<(), Failure> {
    let list = client
        .models()
        .list()
        .await
        .map_err(|e| Failure::from_error(&e, None))?;
    match format {
        OutputFormat::Json => {
            ui.out(&serde_json::to_string_pretty(&list).unwrap_or_default());
            ui.out("\n");
        }
        OutputFormat::Ndjson => {
            for model in &list.data {
                ui.out(&serde_json::to_string(model).unwrap_or_default());
                ui.out("\n");
            }
        }
        OutputFormat::Text => {
            for model in &list.data {
                ui.out(&format!("{}\n", model.id));
            }
        }
    }
    Ok(())
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

//! `quickrouter chat`: send, print as it arrives, assemble, download.

use std::collections::BTreeMap;

use quickrouter::sora::SoraTracker;
use quickrouter::types::ChatCompletion;
use quickrouter::{Client, CompletionAccumulator, RequestOptions};
use serde_json::Value;

use crate::args::{ChatSettings, Connection, OutputFormat};
use crate::download;
use crate::exit::Failure;
use crate::output::Ui;

/// Run one chat request.
pub async fn run(
    client: &Client,
    connection: &Connection,
    settings: ChatSettings,
    format: OutputFormat,
    ui: &Ui,
) -> Result<(), Failure> {
    let options = RequestOptions::new();
    let body = Value::Object(settings.body);
    let completion = if settings.stream {
        stream(client, &body, &options, format, ui).await?
    } else {
        let answer = client
            .chat()
            .create_raw(&body, &options)
            .await
            .map_err(|e| Failure::from_error(&e, None))?;
        print_whole(&answer.value, format, ui);
        answer.value
    };
    if let Some(dir) = &settings.download {
        download::all(&completion, dir, connection, ui).await?;
    }
    Ok(())
}

/// Stream, printing as chunks arrive; the assembled completion when the stream ended well.
async fn stream(
    client: &Client,
    body: &Value,
    options: &RequestOptions,
    format: OutputFormat,
    ui: &Ui,
) -> Result<ChatCompletion, Failure> {
    ui.start_spinner();
    ui.spawn_spinner();
    let mut stream = match client.chat().stream_raw(body, options).await {
        Ok(stream) => stream,
        Err(e) => {
            ui.stop_spinner();
            return Err(Failure::from_error(&e, None));
        }
    };
    let request_id = stream.request_id().map(str::to_owned);
    let several = body["n"].as_u64().is_some_and(|n| n > 1);
    let mut text = TextPrinter {
        several,
        first_labelled: false,
        later: BTreeMap::new(),
    };
    let mut accumulator = CompletionAccumulator::new();
    let mut tracker = SoraTracker::new();
    let error = loop {
        match stream.next_with_raw().await {
            Some(Ok((chunk, raw))) => {
                tracker.push(&chunk);
                if let Some(percent) = tracker.percent() {
                    ui.set_percent(percent);
                }
                match format {
                    OutputFormat::Ndjson => {
                        let mut line = String::from_utf8_lossy(&raw).into_owned();
                        line.push('\n');
                        ui.out(&line);
                    }
                    OutputFormat::Text => text.chunk(&chunk, ui),
                    OutputFormat::Json => {}
                }
                accumulator.push(&chunk);
            }
            Some(Err(error)) => break Some(error),
            None => break None,
        }
    };
    ui.stop_spinner();
    let completion = accumulator.finish();
    match format {
        OutputFormat::Text => text.finish(&completion, ui),
        // What arrived is kept, even when the stream broke.
        OutputFormat::Json => print_json(&completion, ui),
        OutputFormat::Ndjson => {}
    }
    match error {
        Some(error) => Err(Failure::from_error(&error, request_id.as_deref())),
        None => Ok(completion),
    }
}

/// Text output of a stream: choice 0 live; with `n > 1`, labelled, the others after it.
struct TextPrinter {
    several: bool,
    first_labelled: bool,
    later: BTreeMap<u32, String>,
}

impl TextPrinter {
    fn chunk(&mut self, chunk: &quickrouter::ChatCompletionChunk, ui: &Ui) {
        for choice in &chunk.choices {
            if let Some(reasoning) = choice.delta.reasoning_text() {
                ui.reasoning(reasoning);
            }
            let Some(content) = choice.delta.content.as_deref().filter(|c| !c.is_empty()) else {
                continue;
            };
            if choice.index == 0 {
                if self.several && !self.first_labelled {
                    self.first_labelled = true;
                    ui.out("[choice 0]\n");
                }
                ui.out(content);
            } else {
                self.later
                    .entry(choice.index)
                    .or_default()
                    .push_str(content);
            }
        }
    }

    fn finish(self, completion: &ChatCompletion, ui: &Ui) {
        if let Some(first) = completion.choices.iter().find(|c| c.index == 0) {
            if self.several && !self.first_labelled {
                ui.out("[choice 0]\n");
            }
            print_tool_calls(first, ui);
        }
        for choice in completion.choices.iter().filter(|c| c.index != 0) {
            ui.finish_out();
            ui.out(&format!("\n[choice {}]\n", choice.index));
            ui.out(self.later.get(&choice.index).map_or("", String::as_str));
            print_tool_calls(choice, ui);
        }
        ui.finish_out();
    }
}

fn print_tool_calls(choice: &quickrouter::types::Choice, ui: &Ui) {
    for call in &choice.message.tool_calls {
        ui.finish_out();
        ui.out(&format!(
            "[tool call {}] {}({})\n",
            call.id, call.function.name, call.function.arguments
        ));
    }
}

fn print_json(completion: &ChatCompletion, ui: &Ui) {
    let text = serde_json::to_string_pretty(completion).unwrap_or_default();
    ui.out(&text);
    ui.out("\n");
}

/// Print a non-stream answer.
fn print_whole(completion: &ChatCompletion, format: OutputFormat, ui: &Ui) {
    match format {
        OutputFormat::Json => print_json(completion, ui),
        OutputFormat::Ndjson => {
            ui.out(&serde_json::to_string(completion).unwrap_or_default());
            ui.out("\n");
        }
        OutputFormat::Text => {
            let several = completion.choices.len() > 1;
            for (i, choice) in completion.choices.iter().enumerate() {
                if let Some(reasoning) = &choice.message.reasoning_content {
                    ui.reasoning(reasoning);
                    if !reasoning.ends_with('\n') {
                        ui.reasoning("\n");
                    }
                }
                if several {
                    ui.finish_out();
                    ui.out(&format!(
                        "{}[choice {}]\n",
                        if i > 0 { "\n" } else { "" },
                        choice.index
                    ));
                }
                ui.out(choice.message.content.as_deref().unwrap_or_default());
                print_tool_calls(choice, ui);
            }
            ui.finish_out();
        }
    }
}

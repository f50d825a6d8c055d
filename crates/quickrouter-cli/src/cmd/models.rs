//! `quickrouter models`: the model list.

use quickrouter::Client;

use crate::args::OutputFormat;
use crate::exit::Failure;
use crate::output::Ui;

pub async fn run(client: &Client, format: OutputFormat, ui: &Ui) -> Result<(), Failure> {
    let list = client
        .models()
        .list_with_response()
        .await
        .map_err(|e| Failure::from_error(&e))?;
    match format {
        // As the relay sent it: new-api adds fields of its own (`success`).
        OutputFormat::Json => crate::cmd::chat::print_raw(&list.raw, ui),
        OutputFormat::Ndjson => {
            // One line per model, each as the relay sent it.
            let value: serde_json::Value = serde_json::from_slice(&list.raw).unwrap_or_default();
            for model in value["data"].as_array().into_iter().flatten() {
                ui.out(&model.to_string());
                ui.out("\n");
            }
        }
        OutputFormat::Text => {
            for model in &list.value.data {
                ui.out(&format!("{}\n", model.id));
            }
        }
    }
    Ok(())
}

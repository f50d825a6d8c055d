//! `client.models()`: the model list.

use quickrouter_transport::Request;
use quickrouter_types::ModelList;

use crate::client::{Client, RequestOptions};
use crate::Error;

/// The model list. Get one with [`Client::models`].
#[derive(Clone, Copy, Debug)]
pub struct Models<'a> {
    pub(crate) client: &'a Client,
}

impl Models<'_> {
    /// `GET {base}/models`.
    pub async fn list(&self) -> Result<ModelList, Error> {
        self.list_with(&RequestOptions::default()).await
    }

    /// [`list`](Self::list) with per-request options.
    pub async fn list_with(&self, options: &RequestOptions) -> Result<ModelList, Error> {
        options.check()?;
        let request = Request::get("/models").options(options.transport.clone());
        let response = self.client.http.send(&request).await?;
        crate::decode_json(&response.bytes().await?)
    }
}

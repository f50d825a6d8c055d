//! `client.models()`: the model list.

use quickrouter_transport::Request;
use quickrouter_types::ModelList;

use crate::chat::WithResponse;
use crate::client::{Client, RequestOptions};
use crate::Error;

/// The model list. Get one with [`Client::models`].
#[derive(Clone, Debug)]
pub struct Models<'a> {
    pub(crate) client: &'a Client,
    pub(crate) options: RequestOptions,
}

impl<'a> Models<'a> {
    /// The same resource with per-request options.
    pub fn with_options(mut self, options: RequestOptions) -> Models<'a> {
        self.options = self.options.merged(&options);
        self
    }

    /// `GET {base}/models`.
    pub async fn list(&self) -> Result<ModelList, Error> {
        Ok(self.list_with_response().await?.value)
    }

    /// [`list`](Self::list), also returning the headers and the body as received (relays add
    /// fields of their own, e.g. new-api's `success`).
    pub async fn list_with_response(&self) -> Result<WithResponse<ModelList>, Error> {
        self.options.check()?;
        let request = Request::get("/models").options(self.options.transport.clone());
        WithResponse::decode(self.client.http.send(&request).await?).await
    }
}

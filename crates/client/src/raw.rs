//! Writes whose answer the caller does not need as a typed object. kube's `Api` decodes every
//! response into its type; for a Pod status patch or an Event that decode costs more than the
//! rest of the request, so these requests are sent with kube's own request builder and the
//! response is read only for its status.

/// A request as `kube::core::Request` builds it.
pub type Built = Result<http::Request<Vec<u8>>, kube::core::request::Error>;

/// Sends `req`; Ok when the API server accepted it (its answer is dropped unread), the API
/// server's error otherwise.
pub async fn send(client: &kube::Client, req: Built) -> Result<(), kube::Error> {
    client.request_text(req.map_err(kube::Error::BuildRequest)?).await.map(drop)
}

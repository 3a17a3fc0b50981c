//! Writes without kube's typed round trips. kube's `Api` decodes every response into its
//! type; for a Pod status patch or an Event that decode costs more than the rest of the
//! request, and the controllers want JSON values, not typed objects. These requests are built
//! with kube's own request builder (`kube::core::Request`).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A request as `kube::core::Request` builds it.
pub type Built = Result<http::Request<Vec<u8>>, kube::core::request::Error>;

/// A create of `obj` (serialized here) through `request`.
pub fn create(request: &kube::core::Request, pp: &kube::api::PostParams, obj: &impl Serialize) -> Built {
    let body = serde_json::to_vec(obj).map_err(kube::core::request::Error::SerializeBody)?;
    request.create(pp, body)
}

/// A create of `obj` (serialized here) on the `subresource` of `name` (a Pod's `binding`, say).
pub fn create_subresource(
    request: &kube::core::Request,
    subresource: &str,
    name: &str,
    pp: &kube::api::PostParams,
    obj: &impl Serialize,
) -> Built {
    let body = serde_json::to_vec(obj).map_err(kube::core::request::Error::SerializeBody)?;
    request.create_subresource(subresource, name, pp, body)
}

/// Sends `req`; Ok when the API server accepted it (its answer is dropped unread), the API
/// server's error otherwise.
pub async fn send(client: &kube::Client, req: Built) -> Result<(), kube::Error> {
    client.request_text(req.map_err(kube::Error::BuildRequest)?).await.map(drop)
}

/// Sends `req` and decodes the answer straight into `T` (a `serde_json::Value`, say).
pub async fn send_for<T: DeserializeOwned>(client: &kube::Client, req: Built) -> Result<T, kube::Error> {
    let text = client.request_text(req.map_err(kube::Error::BuildRequest)?).await?;
    serde_json::from_str(&text).map_err(kube::Error::SerdeError)
}

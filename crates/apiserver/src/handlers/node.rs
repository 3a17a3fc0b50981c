//! Pod subresources the node agent serves: `log` (proxied as a stream), and the connect
//! subresources `exec`, `attach` and `portforward`, whose upgraded connections (WebSocket or
//! SPDY) are handed through to the agent of the Pod's node.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::Value;
use skiff_api::{ApiError, At};

use crate::request::{Query, ResourceRequest};
use crate::response::Body;
use crate::server::ApiServer;

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.at(field)
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The container a request is for: the one named, or the Pod's only container.
fn container_of(pod: &Value, name: &str, query: &Query) -> Result<String, ApiError> {
    let containers = names(pod, "/spec/containers");
    let container = match query.get("container") {
        Some(c) => c.to_string(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )))
        }
    };
    let others = [names(pod, "/spec/initContainers"), names(pod, "/spec/ephemeralContainers")].concat();
    if !containers.contains(&container) && !others.contains(&container) {
        return Err(ApiError::bad_request(format!("container {container} is not valid for pod {name}")));
    }
    Ok(container)
}

/// The Node object of the node the Pod is bound to; `unbound` is the error when it is not.
async fn node_of(server: &Arc<ApiServer>, pod: &Value, unbound: String) -> Result<Value, ApiError> {
    let Some(node_name) = pod.at("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(unbound));
    };
    let nodes = skiff_api::resources::lookup("", "v1", "nodes").expect("nodes are served");
    server.registry.get(nodes, None, node_name).await
}

/// `pods/log`: containers run on agents; until one serves logs, an unscheduled Pod is an error
/// and a scheduled one has an empty log.
pub async fn log(server: &Arc<ApiServer>, r: &ResourceRequest, query: &Query) -> Result<Response<Body>, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    let pod = server.registry.get(r.resource, r.namespace.as_deref(), name).await?;
    let container = container_of(&pod, name, query)?;
    let waiting = format!("container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating");
    let node = node_of(server, &pod, waiting).await?;
    let params = {
        let mut params = form_urlencoded::Serializer::new(String::new());
        for key in ["follow", "previous", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "limitBytes"] {
            if let Some(v) = query.get(key) {
                params.append_pair(key, v);
            }
        }
        params.finish()
    };
    let mut path = format!("/containerLogs/{}/{name}/{container}", r.namespace.as_deref().unwrap_or("default"));
    if !params.is_empty() {
        path = format!("{path}?{params}");
    }
    proxy_stream(server.kubelet.get(&node, &path).await?).await
}

/// The agent's answer as ours: a streamed body, or its Status as our error.
async fn proxy_stream(resp: reqwest::Response) -> Result<Response<Body>, ApiError> {
    use futures::TryStreamExt;
    use http_body_util::BodyExt;
    let code = resp.status().as_u16();
    if code != 200 {
        let text = resp.text().await.unwrap_or_default();
        let status: Value = serde_json::from_str(&text).unwrap_or_default();
        let message = status["message"].as_str().map(str::to_string).unwrap_or(text);
        let reason = match code {
            400 => "BadRequest",
            404 => "NotFound",
            _ => "InternalError",
        };
        return Err(ApiError::new(code, reason, message));
    }
    let stream = resp.bytes_stream().map_ok(hyper::body::Frame::data).map_err(std::io::Error::other);
    let mut out = Response::new(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
    out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    Ok(out)
}

/// `pods/exec`, `pods/attach`, `pods/portforward`: checks the Pod, then hands the upgrade
/// through to the agent (the kubelet's paths and query names).
pub async fn connect(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
) -> Result<Response<Body>, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    let namespace = r.namespace.as_deref().unwrap_or("default");
    let pod = server.registry.get(r.resource, r.namespace.as_deref(), name).await?;
    let sub = r.subresource.as_deref().unwrap_or_default();
    let raw = req.uri().query().unwrap_or_default().to_string();
    let path = if sub == "portforward" {
        format!("/portForward/{namespace}/{name}")
    } else {
        let container = container_of(&pod, name, &Query::parse(Some(&raw)))?;
        if let Some(phase @ ("Succeeded" | "Failed")) = pod.at("/status/phase").and_then(Value::as_str) {
            return Err(ApiError::bad_request(format!(
                "cannot {sub} into a container in a completed pod; current phase is {phase}"
            )));
        }
        let mut params = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let on = skiff_api::parse_bool(&v);
            match k.as_ref() {
                "command" => drop(params.append_pair("command", &v)),
                "stdin" if on => drop(params.append_pair("input", "1")),
                "stdout" if on => drop(params.append_pair("output", "1")),
                "stderr" if on => drop(params.append_pair("error", "1")),
                "tty" if on => drop(params.append_pair("tty", "1")),
                _ => {}
            }
        }
        format!("/{sub}/{namespace}/{name}/{container}?{}", params.finish())
    };
    let node = node_of(server, &pod, format!("pod {name} does not have a host assigned")).await?;
    server.kubelet.upgrade(&node, &path, req).await
}

//! Building HTTP responses: JSON bodies, `metav1.Status` errors, streams.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use serde_json::Value;
use skiff_api::ApiError;

/// The body type of every response.
pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// A response with a JSON body.
pub fn json(code: StatusCode, value: &Value) -> Response<Body> {
    json_bytes(code, crate::json::to_vec(value))
}

pub fn json_bytes(code: StatusCode, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = code;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The response to a write: the object as stored (from the stored bytes when the write
/// stored it), with its warnings.
pub fn written(code: StatusCode, w: &crate::registry::Written, warnings: &[String]) -> Response<Body> {
    let mut r = match w.stored.as_ref().map(crate::objects::raw_with_rv) {
        Some(Ok(raw)) => json_bytes(code, raw),
        _ => json(code, &w.object_with_rv()),
    };
    add_warnings(&mut r, warnings);
    r
}

/// A response with a body of the given content type.
pub fn typed(code: StatusCode, content_type: &'static str, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = code;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A `metav1.Status` error response.
pub fn error(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(code, &e.to_status());
    if let Some(secs) = e.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// Adds `Warning: 299 - "text"` headers, as kube-apiserver does.
pub fn add_warnings(r: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let text = w.replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
}

//! `/openapi/v2` (protobuf) and `/openapi/v3[/<gv>]`, from skiff-openapi's generated documents.

use http::{header, HeaderValue, StatusCode};
use skiff_api::ApiError;

use crate::request::Query;
use crate::response::{self, Body};

pub fn serve(path: &str, query: &Query, _accept: &str) -> http::Response<Body> {
    let reg = skiff_openapi::registry();
    if path == "/openapi/v2" {
        return response::typed(
            StatusCode::OK,
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            skiff_openapi::v2_protobuf().to_vec(),
        );
    }
    if path == "/openapi/v3" || path == "/openapi/v3/" {
        return response::json_bytes(StatusCode::OK, reg.v3_root().to_vec());
    }
    let Some(gv) = path.strip_prefix("/openapi/v3/") else {
        return response::error(&ApiError::new(404, "NotFound", "the server could not find the requested resource"));
    };
    match reg.v3_document(gv) {
        Some((doc, hash)) => {
            let mut r = response::json_bytes(StatusCode::OK, doc.to_vec());
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{hash}\"")) {
                r.headers_mut().insert(header::ETAG, etag);
            }
            if query.get("hash") == Some(hash) {
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, immutable"));
            }
            r
        }
        None => response::error(&ApiError::new(404, "NotFound", "the server could not find the requested resource")),
    }
}

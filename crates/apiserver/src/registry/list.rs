//! List: prefix scans with label and field selectors, limit and continue tokens.

use base64::Engine;
use serde_json::{json, Value};
use skiff_api::selector::{FieldSelector, LabelSelector};
use skiff_api::{ApiError, ResourceInfo};
use skiff_store::KeyValue;

use super::{store_error, Registry};
use crate::objects;

/// What to list.
#[derive(Debug, Clone)]
pub struct ListOptions {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// 0 = everything.
    pub limit: usize,
    pub continue_token: Option<String>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            labels: LabelSelector::everything(),
            fields: FieldSelector::everything(),
            limit: 0,
            continue_token: None,
        }
    }
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct ListOutput<T = Value> {
    pub items: Vec<T>,
    pub resource_version: i64,
    pub continue_token: Option<String>,
}

fn encode_continue(rv: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str, prefix: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    if start.contains("..") || start.starts_with('/') {
        return Err(bad());
    }
    Ok(format!("{prefix}{start}"))
}

/// The store prefix of a list in `ns` (all namespaces when None).
pub fn list_prefix(res: &ResourceInfo, ns: Option<&str>) -> String {
    match ns {
        Some(ns) if res.namespaced => format!("{}{}/", res.key_prefix(), ns),
        _ => res.key_prefix(),
    }
}

const CHUNK: usize = 1000;

impl Registry {
    /// Lists objects of `res` in `ns` matching the selectors, one page at a time.
    pub async fn list(&self, res: &ResourceInfo, ns: Option<&str>, opts: &ListOptions) -> Result<ListOutput, ApiError> {
        let raw = self.list_raw(res, ns, opts).await?;
        Ok(ListOutput {
            items: raw.items.iter().map(objects::decode).collect::<Result<_, _>>()?,
            resource_version: raw.resource_version,
            continue_token: raw.continue_token,
        })
    }

    /// As [`Registry::list`], returning the stored key-values (decoded only to filter).
    pub async fn list_raw(
        &self,
        res: &ResourceInfo,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ListOutput<KeyValue>, ApiError> {
        let prefix = list_prefix(res, ns);
        let mut start_after = match &opts.continue_token {
            Some(t) => Some(decode_continue(t, &prefix)?),
            None => None,
        };
        let filtered = !opts.labels.is_empty() || !opts.fields.is_empty();
        let mut items = Vec::new();
        let mut revision = None;
        let mut last_key = None;
        loop {
            let want = if opts.limit == 0 {
                0
            } else if filtered {
                CHUNK.max(opts.limit)
            } else {
                opts.limit
            };
            let page = self
                .store
                .list(&prefix, skiff_store::ListOptions { start_after: start_after.clone(), limit: want })
                .await
                .map_err(store_error)?;
            revision.get_or_insert(page.revision);
            let n = page.items.len();
            for (i, kv) in page.items.into_iter().enumerate() {
                last_key = Some(kv.key.to_string());
                if filtered {
                    let obj = objects::decode(&kv)?;
                    if !(opts.labels.matches_object(&obj) && opts.fields.matches(&obj, res)) {
                        continue;
                    }
                }
                items.push(kv);
                if opts.limit != 0 && items.len() == opts.limit {
                    let more = i + 1 < n || page.more;
                    let token = more.then(|| {
                        let key = last_key.clone().unwrap_or_default();
                        encode_continue(revision.unwrap_or(0), key.strip_prefix(&prefix).unwrap_or(&key))
                    });
                    return Ok(ListOutput { items, resource_version: revision.unwrap_or(0), continue_token: token });
                }
            }
            if !page.more {
                break;
            }
            start_after = last_key.clone();
        }
        Ok(ListOutput { items, resource_version: revision.unwrap_or(0), continue_token: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_escapes() {
        let t = encode_continue(7, "default/web");
        assert_eq!(decode_continue(&t, "/registry/pods/").unwrap(), "/registry/pods/default/web");
        let evil = base64::engine::general_purpose::URL_SAFE.encode(r#"{"start":"../secrets/x"}"#);
        assert!(decode_continue(&evil, "/registry/pods/").is_err());
        assert!(decode_continue("%%%", "/registry/pods/").is_err());
    }
}

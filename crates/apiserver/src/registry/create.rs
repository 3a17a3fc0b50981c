//! Create: name generation, system fields, admission, defaulting, validation, then the store.

use std::sync::Arc;

use rand::Rng;
use serde_json::Value;
use skiff_api::{defaults, validation, ApiError, ResourceInfo};
use skiff_store::StoreError;

use super::{store_error, Registry, WriteOptions, Written};
use crate::object::{self, Object};
use crate::{managed, objects};

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const GENERATE_ATTEMPTS: usize = 8;

fn generated_name(base: &str) -> String {
    let mut rng = rand::rng();
    let base = if base.len() > 58 { &base[..58] } else { base };
    let suffix: String = (0..5).map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())] as char).collect();
    format!("{base}{suffix}")
}

impl Registry {
    /// Creates `obj` (already decoded and type-checked) in namespace `ns`.
    pub async fn create(
        &self,
        res: &ResourceInfo,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        objects::set_type(&mut obj, res);
        let meta = objects::metadata_mut(&mut obj);
        if res.namespaced {
            match (meta.get("namespace").and_then(Value::as_str), ns) {
                (Some(body), Some(url)) if !body.is_empty() && body != url => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ))
                }
                _ => {}
            }
            if let Some(ns) = ns {
                meta.insert("namespace".into(), Value::String(ns.to_string()));
            }
        } else {
            meta.remove("namespace");
        }
        for f in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
            meta.remove(f);
        }
        meta.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), Value::String(objects::now_rfc3339()));
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|_| meta.get("name").and_then(Value::as_str).is_none_or(str::is_empty))
            .map(String::from);

        self.check_namespace(res, ns).await?;
        self.admit_create(res, &mut obj).await?;
        let attempts = if generate.is_some() { GENERATE_ATTEMPTS } else { 1 };
        // An object whose generated name was taken already: prepared and admitted, only its
        // name changes for the next attempt (no field, default or verdict depends on it).
        let mut taken: Option<Object> = None;
        for attempt in 0..attempts {
            let prepared = match taken.take() {
                Some(mut again) => {
                    let base = generate.as_deref().unwrap_or_default();
                    let name = Value::String(generated_name(base));
                    objects::metadata_mut(again.tree_mut()).insert("name".into(), name);
                    again
                }
                None => {
                    if let Some(base) = &generate {
                        objects::metadata_mut(&mut obj).insert("name".into(), Value::String(generated_name(base)));
                    }
                    let prepared = self.prepare_create(res, std::mem::take(&mut obj), opts)?;
                    self.validate_admission(res, &prepared, None).await?;
                    prepared
                }
            };
            let name = objects::name(&prepared).unwrap_or_default().to_string();
            if opts.dry_run {
                if self.store.get(&res.key(ns, &name)).await.map_err(store_error)?.is_some() {
                    return Err(ApiError::already_exists(res.group, res.plural, &name));
                }
                return Ok(Written { object: Arc::new(prepared), created: true, stored: None });
            }
            let key = res.key(ns, &name);
            let bytes = prepared.encode();
            let prepared = Arc::new(prepared);
            self.recent.stage(&key, &bytes, prepared.clone());
            let result = self.store.create(&key, bytes.clone()).await;
            if let Ok(kv) = &result {
                // Unstaged only once the written object is in `recent`.
                self.recent.put(&key, kv.mod_revision, prepared.clone());
            }
            self.recent.unstage(&key, &bytes);
            match result {
                Ok(kv) => return Ok(Written { object: prepared, created: true, stored: Some(kv) }),
                // The generated name was taken; another try.
                Err(StoreError::AlreadyExists(_)) if attempt + 1 < attempts => {
                    taken = Some(Arc::unwrap_or_clone(prepared));
                }
                Err(StoreError::AlreadyExists(_)) => {
                    return Err(ApiError::already_exists(res.group, res.plural, &name))
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(ApiError::internal("name generation failed"))
    }

    /// Defaulting, create strategy, validation and field manager for a new object.
    fn prepare_create(&self, res: &ResourceInfo, mut obj: Value, opts: &WriteOptions) -> Result<Object, ApiError> {
        defaults::apply_defaults(res, &mut obj);
        defaults::prepare_for_create(res, &mut obj);
        let name = objects::name(&obj).unwrap_or_default().to_string();
        let causes = validation::validate_create(res, &obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(res.group, res.kind, &name, causes));
        }
        let sent = object::take_managed_fields(&mut obj);
        let managed = match opts.apply {
            // An apply computed them.
            true => sent.as_ref().map(object::text),
            false => managed::track(res, None, &obj, sent, &opts.field_manager, None),
        };
        Ok(Object::new(obj, managed))
    }
}

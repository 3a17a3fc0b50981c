//! The generic registry: what every resource's REST storage does between the handlers and the
//! store (like kube-apiserver's `genericregistry.Store`): naming, uid and timestamps,
//! defaulting, validation, compare-and-swap updates with retries, graceful deletion and
//! finalizers, field managers; and the admission that needs the store (`admission.rs`).

mod admission;
mod create;
mod delete;
mod list;
mod namespaces;
mod recent;
mod update;

use std::sync::Arc;

use serde_json::Value;
use skiff_api::{ApiError, At, ResourceInfo};
use skiff_store::{KeyValue, Store, StoreError};

use crate::object::Object;
use crate::objects;
use crate::request::FieldValidation;

pub use admission::{check_delete, AdmissionConfig};
pub use delete::DeleteOptions;
pub use list::{list_prefix, ListOptions, ListOutput};
pub use recent::Recent;
pub use update::UpdateKind;

/// Options shared by create, update and patch.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub validation: FieldValidation,
    /// A server-side apply: managedFields are already computed, not tracked as an Update.
    pub apply: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            dry_run: false,
            field_manager: "unknown".into(),
            validation: FieldValidation::Warn,
            apply: false,
        }
    }
}

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    /// The object as written; without its resourceVersion when `stored` holds it
    /// ([`Written::object_with_rv`]).
    pub object: Arc<Object>,
    /// True when the write created the object (201 rather than 200).
    pub created: bool,
    /// What the store now holds for it (`object`, encoded), when the write stored it: the
    /// response is made from it rather than by serializing `object` again.
    pub stored: Option<skiff_store::KeyValue>,
}

impl Written {
    /// The whole object with the resourceVersion the store gave it, as responses carry it.
    pub fn object_with_rv(&self) -> Value {
        let mut whole = self.object.to_value();
        if let Some(kv) = &self.stored {
            objects::set_resource_version(&mut whole, kv.mod_revision);
        }
        whole
    }
}

/// Resource storage over a [`Store`].
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    admission: AdmissionConfig,
    /// Objects this registry wrote lately, decoded, for the updates that follow.
    recent: Arc<recent::Recent>,
}

impl Registry {
    /// A registry with kube-apiserver's default admission settings.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Registry::with_admission(store, AdmissionConfig::default())
    }

    pub fn with_admission(store: Arc<dyn Store>, admission: AdmissionConfig) -> Self {
        Registry { store, admission, recent: Arc::default() }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The objects written lately, decoded.
    pub fn recent(&self) -> &Recent {
        &self.recent
    }

    /// One object, with its resourceVersion.
    pub async fn get(&self, res: &ResourceInfo, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        objects::decode(&self.get_raw(res, ns, name).await?)
    }

    /// One object as stored.
    pub async fn get_raw(&self, res: &ResourceInfo, ns: Option<&str>, name: &str) -> Result<KeyValue, ApiError> {
        match self.store.get(&res.key(ns, name)).await.map_err(store_error)? {
            Some(kv) => Ok(kv),
            None => Err(ApiError::not_found(res.group, res.plural, name)),
        }
    }

    /// The namespace must exist and not be terminating for new objects in it.
    async fn check_namespace(&self, res: &ResourceInfo, ns: Option<&str>) -> Result<(), ApiError> {
        let Some(ns) = ns.filter(|_| res.namespaced) else {
            return Ok(());
        };
        let ns_res = skiff_api::resources::lookup("", "v1", "namespaces").expect("namespaces are served");
        match self.store.get(&ns_res.key(None, ns)).await.map_err(store_error)? {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(kv) => {
                // Only a terminating namespace needs a closer look.
                let terminating = kv.value.windows(19).any(|w| w == b"\"deletionTimestamp\"")
                    && objects::decode(&kv)?.at("/metadata/deletionTimestamp").is_some();
                if terminating {
                    return Err(ApiError::forbidden(format!(
                        "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        res.plural
                    )));
                }
                Ok(())
            }
        }
    }
}

/// Maps store errors that reach a client to API errors.
pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Compacted { requested, compacted } => {
            ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
        }
        StoreError::FutureRevision(r) => {
            ApiError::timeout(format!("Too large resource version: {r}, current: unknown")).with_retry_after(1)
        }
        StoreError::InvalidContinue => ApiError::bad_request("invalid continue token"),
        other => ApiError::internal(other.to_string()),
    }
}

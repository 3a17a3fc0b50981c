//! skiff-patch: the four ways to change a Kubernetes object — JSON merge patch (RFC 7386), JSON
//! patch (RFC 6902), strategic merge patch and server-side apply (with managedFields) — over
//! `serde_json::Value`. Schema knowledge comes in through the [`PatchMeta`] trait.
//!
//! Depends on no other skiff crate.

pub mod apply;
mod error;
mod json;
pub mod meta;
mod strategic;
#[cfg(test)]
mod testmeta;

pub use apply::{
    apply, fields_v1, track_update, track_update_text, ApplyError, Conflict, FieldSet, PathElement, Writer,
};
pub use error::PatchError;
pub use json::{json_merge, json_patch};
pub use meta::{FieldMeta, FieldShape, PatchMeta};
pub use strategic::strategic_merge;

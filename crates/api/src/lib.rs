//! skiff-api: the Kubernetes API as skiff serves it, without I/O: the table of resources,
//! `metav1.Status` errors, defaulting, validation, the Priority admission plugin's decisions,
//! label/field selectors, node affinity and taint matching, and Table rendering.
//!
//! Depends on no other skiff crate.

pub mod at;
pub mod cron;
pub mod defaults;
pub mod priority;
pub mod quantity;
pub mod resources;
pub mod scheduling;
pub mod selector;
pub mod status;
pub mod table;
pub mod validation;

pub use at::At;
pub use resources::{ResourceInfo, RESOURCES};
pub use status::{ApiError, Cause};

/// A boolean query parameter as Kubernetes reads it (Go's `strconv.ParseBool`): `1`, `t`,
/// `T`, `TRUE`, `true` and `True` are true.
pub fn parse_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

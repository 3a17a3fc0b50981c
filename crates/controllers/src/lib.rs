//! skiff-controllers: the controller manager's reconcilers. Each runs inside `skiff server`
//! on a kube-rs client it is given and reaches the store only through the API.
//!
//! - [`nodeipam`]: gives every Node a Pod CIDR cut from the cluster CIDR (kube-controller-
//!   manager's range allocator, `--allocate-node-cidrs`).

pub mod nodeipam;

/// Errors of the controllers.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("API: {0}")]
    Api(#[from] kube::Error),
    #[error("configuration: {0}")]
    Config(String),
}

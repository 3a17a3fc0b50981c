//! skiff-runtime: runs containers without Docker, containerd or podman on the machine.
//!
//! * [`image`]: OCI images — references normalized as Docker does, digests, a content-addressed
//!   store whose writes are verified and atomic, and import of OCI layouts and `docker save`
//!   archives.
//!
//! * [`container`]: containers — overlay root file systems, namespaces (new or joined by
//!   path), cgroups v1/v2, CRI logs, a monitor process per container, exec.
//!
//! Does not depend on the API types: the agent translates Pods into runtime requests.

pub mod container;
pub mod image;

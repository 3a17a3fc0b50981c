//! skiff-runtime: runs containers without Docker, containerd or podman on the machine.
//!
//! * [`image`]: OCI images — references normalized as Docker does, digests, a content-addressed
//!   store whose writes are verified and atomic, and import of OCI layouts and `docker save`
//!   archives.
//!
//! * [`container`]: containers — overlay root file systems, namespaces (new or joined by
//!   path), cgroups v1/v2, CRI logs, a monitor process per container, exec.
//!
//! * [`sandbox`]: Pod sandboxes — the infra process holding a Pod's network, IPC and UTS
//!   namespaces, its shared /dev/shm and its cgroup.
//!
//! Does not depend on the API types: the agent translates Pods into runtime requests.

pub mod container;
pub mod image;
pub mod reaper;
pub mod sandbox;

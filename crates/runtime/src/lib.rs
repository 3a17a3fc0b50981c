//! skiff-runtime: runs containers without Docker, containerd or podman on the machine.
//!
//! * [`image`]: OCI images — references normalized as Docker does, digests, a content-addressed
//!   store whose writes are verified and atomic, and import of OCI layouts and `docker save`
//!   archives.
//!
//! Does not depend on the API types: the agent translates Pods into runtime requests.

pub mod image;

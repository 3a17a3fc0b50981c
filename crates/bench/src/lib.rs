//! skiff-bench: measurements behind `skiff bench`. Each benchmark prints a small table; no
//! timing is ever asserted.

pub mod api;
mod client;
pub mod cluster;
pub mod container;
pub mod controllers;
pub mod pods;
pub mod pull;
pub mod scheduler;
mod stats;
pub mod store;

pub use stats::Stats;

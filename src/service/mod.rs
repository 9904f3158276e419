//! The service layer: one module per noun. Each operation takes the acting [`Session`] first,
//! checks its permission (and ownership) here — never in the CLI — validates its input, runs
//! one transaction and writes the audit entry. Inputs and outputs are plain serde types.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod backup;
pub mod campaign;
pub mod client;
pub mod company;
pub mod consent;
pub mod contacts;
pub mod contract;
pub mod dedupe;
pub mod encryption;
pub mod event;
pub mod field;
pub mod group;
pub mod import;
pub mod mail;
pub mod population;
pub mod portal;
pub mod privacy;
pub mod project;
mod refs;
pub mod role;
pub mod setup;
pub mod sla;
pub mod ticket;
pub mod user;

#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
mod privacy_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod thread_tests;

pub use authz::{Actor, Grant, Session};

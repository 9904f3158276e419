//! Plain types and rules with no I/O: the records the services return and the inputs they
//! take (serde types, so an HTTP handler or another storage engine can use them), the
//! permission catalogue, validation, time.

pub mod app;
pub mod audit;
pub mod backup;
pub mod campaign;
pub mod client;
pub mod company;
pub mod contract;
pub mod crm;
pub mod event;
pub mod import;
pub mod inbound;
pub mod interaction;
pub mod links;
pub mod outbox;
pub mod page;
pub mod permission;
pub mod population;
pub mod profile;
pub mod project;
pub mod role;
pub mod search;
pub mod segment;
pub mod session;
pub mod sla;
pub mod sla_policy;
pub mod spreadsheet;
pub mod template;
pub mod ticket;
pub mod time;
pub mod token;
pub mod user;
pub mod validate;

pub use permission::Permission;

/// The keys a record or input serializes to, in declaration order: the one field list from
/// which import and export columns and CLI record columns are derived (the struct is the list).
pub fn keys_of<T: serde::Serialize + Default>() -> Vec<String> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

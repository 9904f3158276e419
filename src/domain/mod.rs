//! Plain types and rules with no I/O: the permission catalogue, validation, time.

pub mod crm;
pub mod permission;
pub mod profile;
pub mod segment;
pub mod sla;
pub mod spreadsheet;
pub mod time;
pub mod validate;

pub use permission::Permission;

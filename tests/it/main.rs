//! End-to-end tests: the real `rolo` binary on real SQLite files, one isolated world each.

mod api;
mod auth;
mod backup;
mod browser;
mod campaign_crash;
mod campaigns;
mod crm;
mod encryption;
mod fixes;
mod guides;
mod harness;
mod import;
mod landing;
mod misc;
mod population;
mod portal;
mod privacy;
mod sentry;
mod serve;
mod sla;
mod smtp;
mod snapshots;
mod tickets;
pub mod token_store;

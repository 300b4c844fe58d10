//! Persistence: every SQL statement the server runs is built here, with SeaORM.
//!
//! Functions take any connection or transaction, so services decide the transaction
//! boundaries and the repository never commits on its own.

pub mod analytics;
pub mod catalog;
pub mod claim_writes;
pub mod claims;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod orders;
pub mod outbox;
pub mod plugins;
pub mod stored;

//! Use cases: one function per action. Each loads what it needs, asks `domain` what to do,
//! and persists the answer in one transaction. Resolvers and jobs call these; nothing else
//! changes the database.

pub mod access;
pub mod analytics;
pub mod catalogue;
pub mod claims;
pub mod courier;
pub mod customers;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod orders;
pub mod payments;
pub mod plugins;
pub mod policy;
pub mod quota;
pub mod reads;
pub mod refunds;
pub mod sellers;
pub mod webhooks;

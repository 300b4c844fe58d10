//! The domain core: plain Rust with no database, HTTP or GraphQL types.
//!
//! Everything here is deterministic and unit-tested on its own; the service layer loads state,
//! asks these modules what to do, and persists the answer in one transaction.

pub mod actor;
pub mod analytics;
pub mod checkout;
pub mod claim;
pub mod money;
pub mod order;
pub mod policy;
pub mod refund;

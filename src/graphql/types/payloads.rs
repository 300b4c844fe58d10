//! Mutation payloads: the changed objects and `userErrors`.

use async_graphql::SimpleObject;

use super::order::Order;
use crate::error::UserError;

/// The result of an order-side mutation.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order as it is now (null when the request was refused).
    pub order: Option<Order>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
}

/// What one SYSTEM job did.
#[derive(SimpleObject)]
pub struct SystemJobRun {
    /// The job.
    pub job: super::super::mutation::SystemJob,
    /// False when another replica held the job's lease, so this call skipped it.
    pub ran: bool,
    /// Items processed (e.g. lines whose purchase was confirmed).
    pub processed: u64,
}

/// The result of `runSystemJobs`.
#[derive(SimpleObject)]
pub struct RunSystemJobsPayload {
    /// One entry per job asked for.
    pub runs: Vec<SystemJobRun>,
}

//! Mutation payloads: the changed objects and `userErrors`.

use async_graphql::{Result, SimpleObject};

use super::order::Order;
use crate::error::{to_graphql_error, ServiceError, UserError};

/// A mutation payload: the changed objects on success, `userErrors` on a refusal.
pub trait Payload: Sized {
    /// The payload of a refusal: nothing changed, so nothing to show but the error.
    fn refused(error: UserError) -> Self;
}

/// Implements [`Payload`] for payloads whose other fields default to null, zero or empty.
macro_rules! refusable {
    ($($payload:ty),+ $(,)?) => {
        $(
            impl $crate::graphql::types::payloads::Payload for $payload {
                fn refused(error: $crate::error::UserError) -> Self {
                    Self {
                        user_errors: vec![error],
                        ..Default::default()
                    }
                }
            }
        )+
    };
}
pub(crate) use refusable;

/// A failed service call as a payload: a business refusal becomes `userErrors` (it changed
/// nothing); anything else is a GraphQL error.
pub fn refusal<P: Payload>(error: ServiceError) -> Result<P> {
    match error {
        ServiceError::User(e) => Ok(P::refused(e)),
        e => Err(to_graphql_error(e)),
    }
}

/// A service result as a payload: success through `ok`, failure as [`refusal`] maps it.
pub fn payload<T, P: Payload>(
    result: Result<T, ServiceError>,
    ok: impl FnOnce(T) -> P,
) -> Result<P> {
    result.map_or_else(refusal, |value| Ok(ok(value)))
}

/// The result of an order-side mutation.
#[derive(SimpleObject, Default)]
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

refusable!(OrderPayload);

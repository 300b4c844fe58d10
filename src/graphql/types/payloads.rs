//! Mutation payloads: the changed objects and `userErrors`.

use std::future::Future;

use async_graphql::{Result, SimpleObject};

use super::order::Order;
use crate::error::{mutation_refusal, ServiceError, UserError};
use crate::service::idempotency::Answer;

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

/// The payload of a mutation that takes an `idempotencyKey`: it says whether it answers an
/// earlier request's outcome.
pub trait Replayable: Payload {
    /// This payload, marked as a replay or not.
    fn replayed(self, replayed: bool) -> Self;
}

/// Implements [`Replayable`] for payloads with a `replayed` field.
macro_rules! replayable {
    ($($payload:ty),+ $(,)?) => {
        $(
            impl $crate::graphql::types::payloads::Replayable for $payload {
                fn replayed(self, replayed: bool) -> Self {
                    Self { replayed, ..self }
                }
            }
        )+
    };
}
pub(crate) use replayable;

/// A failed service call as a payload, by the rule of `error.rs`: a refusal of the request
/// becomes `userErrors` (it changed nothing); anything else is a GraphQL error.
pub fn refusal<P: Payload>(error: ServiceError) -> Result<P> {
    mutation_refusal(error).map(P::refused)
}

/// A service result as a payload: success through `ok`, failure as [`refusal`] maps it.
pub fn payload<T, P: Payload>(
    result: Result<T, ServiceError>,
    ok: impl FnOnce(T) -> P,
) -> Result<P> {
    result.map_or_else(refusal, |value| Ok(ok(value)))
}

/// An idempotent mutation's answer as a payload: success through `ok` (which reads the objects
/// as they are now), failure as [`refusal`] maps it, either way marked `replayed` or not.
pub async fn answered<T, P, F>(answer: Answer<T>, ok: impl FnOnce(T) -> F) -> Result<P>
where
    P: Replayable,
    F: Future<Output = Result<P>>,
{
    let payload = match answer.result {
        Ok(value) => ok(value).await?,
        Err(e) => refusal(e)?,
    };
    Ok(payload.replayed(answer.replayed))
}

/// The result of an order-side mutation.
#[derive(SimpleObject, Default)]
pub struct OrderPayload {
    /// The order as it is now (null when the request was refused).
    pub order: Option<Order>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
    /// True when this answers an earlier request with the same `idempotencyKey` (still running
    /// or finished): its outcome again, the objects as they are now, nothing changed by this
    /// call. False when the request ran now.
    pub replayed: bool,
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
replayable!(OrderPayload);

//! Paying refunds out: the SYSTEM job that sends PENDING cash parts to the payment gateway,
//! retries failures with backoff up to `--refund-max-attempts` attempts
//! ([`JobArgs::refund_max_attempts`](crate::config::JobArgs)), and completes a `*_REFUNDING` claim when its last part
//! succeeds. The gateway is called outside any transaction with the part's idempotency key, so
//! a crash between its answer and the commit is repaired by the next attempt, which gets the
//! same answer and moves no money twice.

use crate::app::App;
use crate::domain::claim::ClaimStatus;
use crate::domain::money::Won;
use crate::error::ServiceError;
use crate::gateway::RefundCall;
use crate::repo;
use crate::repo::claim_writes::PartAttempt;
use crate::service::claims;

/// Parts sent to the gateway per batch.
const BATCH: u64 = 100;

/// Sends every due part to the gateway once, batch after batch until none is left (a busy
/// marketplace makes more than one batch between two runs of the job). Returns how many
/// succeeded.
pub async fn pay_due(app: &App) -> Result<u64, ServiceError> {
    complete_settled(app).await?;
    let mut succeeded = 0;
    loop {
        // A failed part is due again only after its backoff, so every batch is new work.
        let (paid, taken) = pay_batch(app).await?;
        succeeded += paid;
        if taken < BATCH {
            return Ok(succeeded);
        }
    }
}

/// Completes the refunding claims whose parts have all succeeded: a run killed between
/// recording a claim's last success and completing the claim left it refunding with nothing
/// due, and no later attempt would take it up.
async fn complete_settled(app: &App) -> Result<(), ServiceError> {
    let refunding: Vec<&str> = ClaimStatus::ALL
        .iter()
        .filter(|s| s.is_refunding())
        .map(|s| s.as_str())
        .collect();
    for claim_id in repo::claims::refunding_with_parts_settled(app.db.conn(), &refunding).await? {
        claims::complete_refunded(app, claim_id).await?;
    }
    Ok(())
}

/// One batch of due parts: how many succeeded, how many were taken.
async fn pay_batch(app: &App) -> Result<(u64, u64), ServiceError> {
    let now = app.clock.now();
    let max_attempts = app.jobs.refund_max_attempts.get();
    let due = repo::claims::parts_due(app.db.conn(), now, BATCH).await?;
    let taken = due.len() as u64;
    let mut succeeded = 0;
    for part in due {
        let reference = match part.tender_id {
            Some(t) => repo::claims::tender_by_id(app.db.conn(), t)
                .await?
                .and_then(|t| t.gateway_reference)
                .unwrap_or_else(|| format!("tender-{t}")),
            None => String::new(),
        };
        let call = RefundCall {
            idempotency_key: part.idempotency_key.clone(),
            payment_reference: reference,
            amount: Won::new(part.amount),
        };
        let answer = app.gateway.refund(call).await;
        let now = app.clock.now();
        let attempt = match &answer {
            Ok(reference) => PartAttempt::Paid {
                reference: reference.clone(),
            },
            Err(e) => PartAttempt::Failed {
                error: e.to_string(),
                // `>=`: a part that made more attempts under a higher setting fails now.
                last: part.attempts + 1 >= max_attempts,
            },
        };
        let txn = app.db.write().await?;
        repo::claim_writes::record_attempt(&*txn, part.id, part.attempts, attempt, now).await?;
        txn.commit().await?;
        if answer.is_ok() {
            succeeded += 1;
            claims::complete_refunded(app, part.claim_id).await?;
        } else {
            tracing::warn!(part = part.id, "refund attempt failed; will retry");
        }
    }
    Ok((succeeded, taken))
}

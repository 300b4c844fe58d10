//! Paying refunds out: the SYSTEM job that sends PENDING cash parts to the payment gateway,
//! retries failures with backoff up to `--refund-max-attempts` attempts
//! ([`JobArgs::refund_max_attempts`](crate::config::JobArgs)), and completes a `*_REFUNDING` claim when its last part
//! succeeds. The gateway is called outside any transaction with the part's idempotency key, so
//! a crash between its answer and the commit is repaired by the next attempt, which gets the
//! same answer and moves no money twice.

use entity::{claim, refund_part};

use crate::app::App;
use crate::domain::claim::ClaimStatus;
use crate::domain::money::Won;
use crate::domain::order::TenderMethod;
use crate::error::ServiceError;
use crate::gateway::{CancelCall, Outcome, RefundAccount};
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
    let claim_ids: Vec<i64> = due.iter().map(|p| p.claim_id).collect();
    let claims = repo::claims::claims_by_ids(app.db.conn(), &claim_ids).await?;
    let mut succeeded = 0;
    for part in due {
        let claim = claims.iter().find(|c| c.id == part.claim_id);
        let call = cancel_call(app, &part, claim).await?;
        let answer = app.gateway.cancel(call).await;
        let now = app.clock.now();
        let attempt = match &answer {
            Ok(cancel) => PartAttempt::Paid {
                reference: cancel.transaction_key.clone(),
            },
            Err(e) => match e.outcome {
                Outcome::NeedsAccount => PartAttempt::AccountRequired {
                    error: e.to_string(),
                },
                // `>=`: a part that made more attempts under a higher setting fails now.
                Outcome::Retry | Outcome::AlreadyProcessed => PartAttempt::Failed {
                    error: e.to_string(),
                    last: part.attempts + 1 >= max_attempts,
                },
                Outcome::GiveUp => PartAttempt::Failed {
                    error: e.to_string(),
                    last: true,
                },
            },
        };
        let txn = app.db.write().await?;
        repo::claim_writes::record_attempt(&*txn, part.id, part.attempts, attempt, now).await?;
        txn.commit().await?;
        match answer {
            Ok(_) => {
                succeeded += 1;
                claims::complete_refunded(app, part.claim_id).await?;
            }
            Err(e) => tracing::warn!(part = part.id, code = %e.code, "refund attempt failed"),
        }
    }
    Ok((succeeded, taken))
}

/// The gateway call that pays `part` back: a partial cancel of the payment it came from (the
/// payment key stored on its tender), with the customer's refund account for a bank transfer.
async fn cancel_call(
    app: &App,
    part: &refund_part::Model,
    claim: Option<&claim::Model>,
) -> Result<CancelCall, ServiceError> {
    let tender = match part.tender_id {
        Some(t) => repo::claims::tender_by_id(app.db.conn(), t).await?,
        None => None,
    };
    let mut refund_account = None;
    if part.method == TenderMethod::BankTransfer.as_str() {
        if let Some(order) = match &tender {
            Some(t) => repo::orders::order_by_id(app.db.conn(), t.order_id, false).await?,
            None => None,
        } {
            let customer = repo::catalog::customers_by_ids(app.db.conn(), &[order.customer_id])
                .await?
                .into_iter()
                .next();
            refund_account = customer.and_then(|c| {
                Some(RefundAccount {
                    bank: c.refund_bank?,
                    account_number: c.refund_account_number?,
                    holder_name: c.refund_account_holder?,
                })
            });
        }
    }
    let reason = match claim {
        Some(c) => format!("클레임 {} 환불", c.claim_number),
        None => "주문 환불".to_owned(),
    };
    Ok(CancelCall {
        idempotency_key: part.idempotency_key.clone(),
        payment_key: tender.and_then(|t| t.gateway_reference),
        amount: Won::new(part.amount),
        reason,
        refund_account,
    })
}

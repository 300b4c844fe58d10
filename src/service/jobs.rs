//! The SYSTEM job runner: periodic jobs that any replica may run, one at a time per job,
//! guarded by a lease row in the database. Tests and operators run them on demand with the
//! `runSystemJobs` mutation.

use chrono::Duration;

use crate::app::App;
use crate::error::ServiceError;
use crate::repo;
use crate::service::{claims, orders, refunds};

/// A SYSTEM job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// 구매확정: confirms purchases N days after delivery.
    AutoConfirmPurchase,
    /// 환불: sends due refund parts to the payment gateway.
    PayRefunds,
    /// 미입금 취소: cancels bank-transfer orders whose deposit deadline passed.
    CancelUnpaidOrders,
    /// 배송비 미결제 철회: withdraws exchanges whose fee stayed unpaid too long.
    WithdrawUnpaidExchanges,
}

impl Job {
    /// Every job, in the order a run takes them.
    pub const ALL: [Job; 4] = [
        Job::AutoConfirmPurchase,
        Job::PayRefunds,
        Job::CancelUnpaidOrders,
        Job::WithdrawUnpaidExchanges,
    ];

    /// The lease name.
    pub const fn name(self) -> &'static str {
        match self {
            Job::AutoConfirmPurchase => "AUTO_CONFIRM_PURCHASE",
            Job::PayRefunds => "PAY_REFUNDS",
            Job::CancelUnpaidOrders => "CANCEL_UNPAID_ORDERS",
            Job::WithdrawUnpaidExchanges => "WITHDRAW_UNPAID_EXCHANGES",
        }
    }
}

/// What one job did in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    /// The job.
    pub job: Job,
    /// False when another replica held the lease, so this run skipped the job.
    pub ran: bool,
    /// Items processed (lines confirmed, ...).
    pub processed: u64,
}

/// Runs the given jobs now, each under its lease.
pub async fn run(app: &App, jobs: &[Job]) -> Result<Vec<JobOutcome>, ServiceError> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    for &job in jobs {
        let now = app.clock.now();
        // Lease writes go through the writer like every other write: on SQLite a write beside
        // it would fail a writer's transaction with "database is locked".
        let txn = app.db.write().await?;
        let leased = repo::jobs::try_lease(
            &*txn,
            job.name(),
            &app.instance_id,
            now,
            now + Duration::minutes(5),
        )
        .await?;
        txn.commit().await?;
        if !leased {
            outcomes.push(JobOutcome {
                job,
                ran: false,
                processed: 0,
            });
            continue;
        }
        let result = match job {
            Job::AutoConfirmPurchase => orders::auto_confirm_purchases(app).await,
            Job::PayRefunds => refunds::pay_due(app).await,
            Job::CancelUnpaidOrders => claims::cancel_unpaid_orders(app).await,
            Job::WithdrawUnpaidExchanges => claims::withdraw_unpaid_exchanges(app).await,
        };
        let txn = app.db.write().await?;
        repo::jobs::release(&*txn, job.name(), &app.instance_id).await?;
        txn.commit().await?;
        outcomes.push(JobOutcome {
            job,
            ran: true,
            processed: result?,
        });
    }
    Ok(outcomes)
}

/// Runs every job every `interval` until the process stops.
pub async fn run_forever(app: App, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run(&app, &Job::ALL).await {
            Ok(outcomes) => {
                for o in outcomes.iter().filter(|o| o.processed > 0) {
                    tracing::info!(
                        job = o.job.name(),
                        processed = o.processed,
                        "system job ran"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "system job failed; will retry next tick"),
        }
    }
}

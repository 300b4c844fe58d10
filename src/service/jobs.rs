//! The SYSTEM job runner: periodic jobs that any replica may run, one at a time per job,
//! guarded by a lease row in the database. Tests and operators run them on demand with the
//! `runSystemJobs` mutation.

use std::future::Future;
use std::time::Instant;

use chrono::Duration;
use tokio::sync::oneshot;

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
        let processed = leased(app, job.name(), async {
            match job {
                Job::AutoConfirmPurchase => orders::auto_confirm_purchases(app).await,
                Job::PayRefunds => refunds::pay_due(app).await,
                Job::CancelUnpaidOrders => claims::cancel_unpaid_orders(app).await,
                Job::WithdrawUnpaidExchanges => claims::withdraw_unpaid_exchanges(app).await,
            }
        })
        .await?;
        outcomes.push(JobOutcome {
            job,
            ran: processed.is_some(),
            processed: processed.unwrap_or(0),
        });
    }
    Ok(outcomes)
}

/// Runs `work` under this replica's lease on `name`; `None` when another replica holds it.
///
/// The lease lasts `--job-lease-secs` and is renewed every third of that while `work` runs, so
/// a replica that dies holds the job at most that long. When a renewal finds the lease taken
/// (this replica stalled past its end and another took over), `work` is dropped at its next
/// await — its open transaction rolls back, as in a crash — and the answer is `None`, so two
/// replicas never run the job at once.
pub async fn leased<T>(
    app: &App,
    name: &str,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<Option<T>, ServiceError> {
    let now = app.clock.now();
    // Lease writes go through the writer like every other write: on SQLite a write beside
    // it would fail a writer's transaction with "database is locked".
    let txn = app.db.write().await?;
    let until = now + lease_length(app);
    let taken = repo::jobs::try_lease(&*txn, name, &app.instance_id, now, until).await?;
    txn.commit().await?;
    if !taken {
        return Ok(None);
    }
    // The heartbeat is a task of its own: renewing needs the writer, which `work` may hold.
    let (lost_tx, lost) = oneshot::channel();
    let heartbeat = tokio::spawn(keep_lease(app.clone(), name.to_owned(), lost_tx));
    let out = tokio::select! {
        out = work => out.map(Some),
        _ = lost => {
            tracing::warn!(job = name, "lost the job lease to another replica; stopped this run");
            Ok(None)
        }
    };
    heartbeat.abort();
    let _ = heartbeat.await;
    let txn = app.db.write().await?;
    repo::jobs::release(&*txn, name, &app.instance_id).await?;
    txn.commit().await?;
    out
}

fn lease_length(app: &App) -> Duration {
    Duration::from_std(app.jobs.job_lease()).unwrap_or(Duration::seconds(30))
}

/// Renews the lease on `name` every third of its length until aborted; tells `lost` when
/// another replica holds it, or when renewals have failed until the lease is nearly over.
async fn keep_lease(app: App, name: String, lost: oneshot::Sender<()>) {
    let length = app.jobs.job_lease();
    let every = length / 3;
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let until = app.clock.now() + lease_length(&app);
        let renewal = async {
            let txn = app.db.write().await?;
            let held = repo::jobs::renew(&*txn, &name, &app.instance_id, until).await?;
            txn.commit().await?;
            Ok::<_, ServiceError>(held)
        };
        match renewal.await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(job = %name, error = %e, "could not renew the job lease");
                if renewed.elapsed() + every >= length {
                    break;
                }
            }
        }
    }
    let _ = lost.send(());
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

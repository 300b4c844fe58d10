//! SYSTEM jobs over unpaid money: bank-transfer orders past their deadline, and exchanges
//! whose fee was never paid.

use chrono::Duration;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{ClaimAction, Reason};
use crate::domain::order::{LineStatus, PaymentMethod};
use crate::error::ServiceError;
use crate::repo;

use super::*;

/// 미입금 취소 (SYSTEM): cancels every active unit of orders whose payment deadline passed
/// unpaid (a card never confirmed, a transfer never deposited), one claim per seller, which
/// releases their stock. The gateway is asked first whether it was paid after all (a
/// confirmation whose commit was lost): such an order is recorded paid instead, and one the
/// gateway cannot be asked about waits for the next run. Returns how many claims it opened.
pub async fn cancel_unpaid_orders(app: &App) -> Result<u64, ServiceError> {
    let now = app.clock.now();
    let mut opened = 0;
    for o in repo::claims::orders_past_deposit_deadline(app.db.conn(), now, 200).await? {
        match crate::service::payments::settle_before_lapse(app, &o).await {
            Ok(false) => {}
            Ok(true) => continue,
            Err(e) => {
                tracing::warn!(order = %o.order_number, error = %e, "unpaid order left for the next run");
                continue;
            }
        }
        let memo = if o.payment_method == PaymentMethod::Card.as_str() {
            "결제 시간 초과로 자동 취소"
        } else {
            "입금 기한 경과로 자동 취소"
        };
        let lines = repo::orders::lines_of_orders(app.db.conn(), &[o.id], None).await?;
        let mut sellers: Vec<i64> = lines.iter().map(|l| l.seller_id).collect();
        sellers.sort_unstable();
        sellers.dedup();
        for seller in sellers {
            let items: Vec<OpenItem> = lines
                .iter()
                .filter(|l| {
                    l.seller_id == seller && l.status == LineStatus::AwaitingPayment.as_str()
                })
                .map(|l| OpenItem {
                    line_id: l.id,
                    quantity: i64::from(
                        l.quantity
                            - l.cancelled_quantity
                            - l.returned_quantity
                            - l.claimed_quantity,
                    ),
                    replacement_option_id: None,
                })
                .filter(|i| i.quantity > 0)
                .collect();
            if items.is_empty() {
                continue;
            }
            let request = OpenRequest {
                action: ClaimAction::RequestCancel,
                order_number: o.order_number.clone(),
                items,
                reason: Reason::Other,
                memo: Some(memo.into()),
                collection_method: CollectionMethod::CustomerShips,
            };
            match open_claim(app, Actor::System, None, request).await.result {
                Ok(_) => opened += 1,
                // Deposited or cancelled meanwhile: nothing to do.
                Err(ServiceError::User(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(opened)
}

/// 배송비 미결제 철회 (SYSTEM): withdraws exchanges held for an unpaid fee longer than the
/// configured days. Returns how many it withdrew.
pub async fn withdraw_unpaid_exchanges(app: &App) -> Result<u64, ServiceError> {
    let cutoff = app.clock.now() - Duration::days(app.jobs.unpaid_fee_days);
    let mut withdrawn = 0;
    for c in repo::claims::unpaid_exchanges_since(app.db.conn(), cutoff, 200).await? {
        let request = ActRequest {
            claim_number: c.claim_number,
            memo: Some("교환 배송비 미결제로 자동 철회".into()),
            ..Default::default()
        };
        match act(
            app,
            Actor::System,
            ClaimAction::FeeUnpaidTimeout,
            None,
            request,
        )
        .await
        .result
        {
            Ok(_) => withdrawn += 1,
            Err(ServiceError::User(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(withdrawn)
}

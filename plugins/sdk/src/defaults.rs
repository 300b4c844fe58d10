//! The built-in policy, hook by hook (`policies.md`, `claims.md`, `money.md`): fault by
//! reason, the seller's return fee, a round trip for customer-fault exchanges, sets exchanged
//! whole unless the seller is at fault, and the consumer-protection windows.
//!
//! The server runs these natively for every seller without an active plugin; the
//! `default-policy` example exports them unchanged, and a plugin may call them for the cases
//! it does not change.

use crate::types::*;

const DAY: i64 = 86_400;

/// The fault of a reason under the built-in policy (`claims.md`, "Reasons").
pub const fn fault_of(reason: Reason) -> Fault {
    match reason {
        Reason::ChangeOfMind
        | Reason::OrderedByMistake
        | Reason::SizeOrOptionChange
        | Reason::Other => Fault::Customer,
        Reason::Defective
        | Reason::WrongItemDelivered
        | Reason::DeliveryDelayed
        | Reason::OutOfStock => Fault::Seller,
    }
}

/// Fault by reason; the seller's return fee; a customer-fault exchange costs the round trip.
pub fn claim_fees(input: ClaimFeesInput) -> FeeDecision {
    let fault = fault_of(input.reason);
    let exchange_fee = match (input.claim_type, fault) {
        (ClaimType::Exchange, Fault::Customer) => input.return_fee.saturating_mul(2),
        _ => 0,
    };
    FeeDecision {
        fault,
        return_fee: input.return_fee,
        initial_shipping: true,
        coupon_clawback: true,
        exchange_fee,
        message: None,
    }
}

/// A set is exchanged whole — every unit of every line of a set the claim touches — unless
/// the seller is at fault.
pub fn exchange_rules(input: ExchangeRulesInput) -> ExchangeVerdict {
    if input.fault == Fault::Seller {
        return ExchangeVerdict::allow();
    }
    let mut missing: Vec<i64> = Vec::new();
    for exchanged in &input.items {
        let Some(bundle) = &exchanged.item.bundle_id else {
            continue;
        };
        for line in input
            .order_lines
            .iter()
            .filter(|l| l.bundle_id.as_ref() == Some(bundle))
        {
            let claimed: u32 = input
                .items
                .iter()
                .filter(|i| i.item.line_id == line.line_id)
                .map(|i| i.item.quantity)
                .sum();
            if claimed < line.active_quantity && !missing.contains(&line.line_id) {
                missing.push(line.line_id);
            }
        }
    }
    if missing.is_empty() {
        return ExchangeVerdict::allow();
    }
    ExchangeVerdict {
        allowed: false,
        code: Some("BUNDLE_MUST_BE_WHOLE".into()),
        message: Some("a set is exchanged whole: add every unit of its other lines".into()),
        required_line_ids: missing,
    }
}

/// Change of mind (and other customer reasons) within 7 days of delivery; defects and wrong
/// items within 3 months (92 days); late delivery until 7 days after delivery; after purchase
/// confirmation only the seller's faults.
pub fn claim_window(input: ClaimWindowInput) -> WindowVerdict {
    let start = match input.reason {
        Reason::DeliveryDelayed => input.shipped_at,
        _ => input.delivered_at.or(input.shipped_at),
    };
    let Some(start) = start else {
        return WindowVerdict::allow();
    };
    let (limit, rule) = match input.reason {
        Reason::Defective | Reason::WrongItemDelivered => {
            (start.saturating_add(92 * DAY), "3 months of delivery")
        }
        Reason::DeliveryDelayed => (
            input
                .delivered_at
                .unwrap_or(input.now)
                .saturating_add(7 * DAY),
            "7 days after delivery",
        ),
        Reason::ChangeOfMind
        | Reason::OrderedByMistake
        | Reason::SizeOrOptionChange
        | Reason::Other
        | Reason::OutOfStock => (start.saturating_add(7 * DAY), "7 days of delivery"),
    };
    if input.fault == Fault::Customer && input.purchase_confirmed_at.is_some() {
        return WindowVerdict {
            allowed: false,
            code: Some("PURCHASE_CONFIRMED".into()),
            message: Some(
                "the purchase is confirmed: only the seller's faults can still be claimed".into(),
            ),
        };
    }
    if input.now > limit {
        return WindowVerdict {
            allowed: false,
            code: Some("WINDOW_CLOSED".into()),
            message: Some(format!(
                "{} claims must be made within {rule}",
                input.reason.as_str()
            )),
        };
    }
    WindowVerdict::allow()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELIVERED: i64 = 10 * DAY;

    fn window(reason: Reason, now_day: i64, confirmed: bool) -> bool {
        claim_window(ClaimWindowInput {
            claim_type: ClaimType::Return,
            reason,
            fault: fault_of(reason),
            shipped_at: Some(DELIVERED - 2 * DAY),
            delivered_at: Some(DELIVERED),
            purchase_confirmed_at: confirmed.then_some(DELIVERED + DAY),
            now: now_day * DAY,
        })
        .allowed
    }

    #[test]
    fn windows_follow_the_consumer_protection_rules() {
        assert!(window(Reason::ChangeOfMind, 17, false));
        assert!(!window(Reason::ChangeOfMind, 18, false));
        assert!(window(Reason::Defective, 90, false));
        assert!(!window(Reason::Defective, 103, false));
        assert!(!window(Reason::ChangeOfMind, 12, true));
        assert!(window(Reason::Defective, 12, true));
    }

    fn exchanged(line: i64, quantity: u32) -> ExchangeItem {
        ExchangeItem {
            item: Item {
                line_id: line,
                product_id: 1,
                option_id: 1,
                unit_price: 1000,
                quantity,
                bulky: false,
                bundle_id: Some("SET".into()),
            },
            replacement_option_id: 2,
            replacement_price: 1000,
            replacement_stock: 5,
        }
    }

    #[test]
    fn sets_are_exchanged_whole_unless_the_seller_is_at_fault() {
        let input = |fault, items| ExchangeRulesInput {
            reason: Reason::SizeOrOptionChange,
            fault,
            now: 0,
            order_lines: [1, 2]
                .map(|line_id| OrderLine {
                    line_id,
                    active_quantity: 1,
                    bundle_id: Some("SET".into()),
                })
                .to_vec(),
            items,
            earlier_exchanges: Vec::new(),
        };
        let refused = exchange_rules(input(Fault::Customer, vec![exchanged(1, 1)]));
        assert!(!refused.allowed);
        assert_eq!(refused.required_line_ids, vec![2]);
        assert!(
            exchange_rules(input(
                Fault::Customer,
                vec![exchanged(1, 1), exchanged(2, 1)]
            ))
            .allowed
        );
        assert!(exchange_rules(input(Fault::Seller, vec![exchanged(1, 1)])).allowed);
    }

    #[test]
    fn a_customer_fault_exchange_costs_the_round_trip() {
        let input = |claim_type, reason| ClaimFeesInput {
            claim_type,
            reason,
            collection_method: CollectionMethod::Pickup,
            base_fee: 3000,
            free_threshold: 50_000,
            shipping_fee_paid: 0,
            return_fee: 2500,
            delivered_at: None,
            now: 0,
            memo: None,
            items: Vec::new(),
            earlier_claims: Vec::new(),
        };
        assert_eq!(
            claim_fees(input(ClaimType::Exchange, Reason::ChangeOfMind)).exchange_fee,
            5000
        );
        let d = claim_fees(input(ClaimType::Exchange, Reason::Defective));
        assert_eq!((d.fault, d.exchange_fee), (Fault::Seller, 0));
        assert_eq!(
            claim_fees(input(ClaimType::Return, Reason::ChangeOfMind)).exchange_fee,
            0
        );
    }
}

//! Seller policies (`policies.md`): the hooks a seller may replace with a plugin —
//! `claim_fees` (who is at fault and what the customer pays), `exchange_rules` (may this
//! partial exchange go ahead) and `claim_window` (may a claim still be opened) — and the
//! built-in default every seller has until it activates a plugin.
//!
//! Pure: inputs carry everything a policy may look at, `now` included, so an evaluation can be
//! replayed exactly. The Wasm plugin host (issue 6) implements [`Policy`] too.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::claim::{ClaimType, Fault, Reason};
use super::money::Won;

/// A claimed item as a policy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyItem {
    /// The order line.
    pub line_id: i64,
    /// Its product.
    pub product_id: i64,
    /// Its option.
    pub option_id: i64,
    /// Price of one unit.
    pub unit_price: Won,
    /// Units claimed.
    pub quantity: u32,
    /// The set (세트) the line belongs to, if any.
    pub bundle_id: Option<String>,
}

/// Input of `claim_fees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimFeesInput {
    /// RETURN or EXCHANGE (`claim_fees` never runs for cancels).
    pub claim_type: ClaimType,
    /// Why.
    pub reason: Reason,
    /// The customer's words.
    pub memo: Option<String>,
    /// The units claimed.
    pub items: Vec<PolicyItem>,
    /// The group's base fee (at checkout).
    pub base_fee: Won,
    /// The group's free-shipping threshold (at checkout).
    pub free_threshold: Won,
    /// The shipping fee the group paid at checkout (0 when it shipped free).
    pub shipping_fee_paid: Won,
    /// The seller's return fee.
    pub return_fee: Won,
    /// PICKUP or CUSTOMER_SHIPS.
    pub collection_method: String,
    /// When the goods were delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Output of `claim_fees`: stored on the claim and used when its refund is priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeDecision {
    /// Who is at fault (귀책).
    pub fault: Fault,
    /// The return shipping fee a customer-fault return deducts.
    pub return_fee: Won,
    /// Whether the initial-shipping charge may apply (free shipping broken).
    pub initial_shipping: bool,
    /// What a customer-fault exchange costs (the round trip); 0 for none.
    pub exchange_fee: Won,
    /// Whether the coupon clawback may apply.
    pub coupon_clawback: bool,
    /// A message for the customer.
    pub message: Option<String>,
}

/// A line of the order as `exchange_rules` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView {
    /// The line.
    pub line_id: i64,
    /// Its set, if any.
    pub bundle_id: Option<String>,
    /// Units still active.
    pub active_quantity: u32,
}

/// Input of `exchange_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeRulesInput {
    /// Why.
    pub reason: Reason,
    /// The fault `claim_fees` decided.
    pub fault: Fault,
    /// The order's lines of this seller.
    pub order_lines: Vec<OrderLineView>,
    /// The units to exchange.
    pub items: Vec<PolicyItem>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Output of `exchange_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeVerdict {
    /// May the exchange go ahead as asked?
    pub allowed: bool,
    /// A stable code when refused (e.g. `BUNDLE_MUST_BE_WHOLE`).
    pub code: Option<String>,
    /// Why, for the customer.
    pub message: Option<String>,
    /// Lines that must be added for the exchange to be allowed.
    pub required_line_ids: Vec<i64>,
}

/// Input of `claim_window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimWindowInput {
    /// RETURN or EXCHANGE.
    pub claim_type: ClaimType,
    /// Why.
    pub reason: Reason,
    /// The fault `claim_fees` decided.
    pub fault: Fault,
    /// When the line shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When its purchase was confirmed.
    pub purchase_confirmed_at: Option<DateTime<Utc>>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Output of `claim_window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowVerdict {
    /// May the claim be opened now?
    pub allowed: bool,
    /// Why not, for the customer.
    pub message: Option<String>,
}

/// A seller's policy.
pub trait Policy: Send + Sync {
    /// Fault and fees of a return or exchange, decided once when it is requested.
    fn claim_fees(&self, input: &ClaimFeesInput) -> FeeDecision;
    /// Whether a (partial) exchange may go ahead as asked.
    fn exchange_rules(&self, input: &ExchangeRulesInput) -> ExchangeVerdict;
    /// Whether a claim may still be opened.
    fn claim_window(&self, input: &ClaimWindowInput) -> WindowVerdict;
}

/// The built-in policy (`policies.md`, `claims.md`, `money.md`): fault by reason, the
/// seller's return fee, a round trip for customer-fault exchanges, sets exchanged whole unless
/// the seller is at fault, and the consumer-protection windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPolicy;

impl Policy for DefaultPolicy {
    fn claim_fees(&self, input: &ClaimFeesInput) -> FeeDecision {
        let fault = input.reason.default_fault();
        let exchange_fee = match (input.claim_type, fault) {
            (ClaimType::Exchange, Fault::Customer) => input.return_fee + input.return_fee,
            (ClaimType::Exchange, Fault::Seller) | (ClaimType::Return | ClaimType::Cancel, _) => {
                Won::ZERO
            }
        };
        FeeDecision {
            fault,
            return_fee: input.return_fee,
            initial_shipping: true,
            exchange_fee,
            coupon_clawback: true,
            message: None,
        }
    }

    fn exchange_rules(&self, input: &ExchangeRulesInput) -> ExchangeVerdict {
        if input.fault == Fault::Seller {
            return ExchangeVerdict {
                allowed: true,
                code: None,
                message: None,
                required_line_ids: Vec::new(),
            };
        }
        // Every line of a set the claim touches must be in it, with all its active units.
        let mut missing: Vec<i64> = Vec::new();
        for item in &input.items {
            let Some(bundle) = &item.bundle_id else {
                continue;
            };
            for line in input
                .order_lines
                .iter()
                .filter(|l| l.bundle_id.as_ref() == Some(bundle))
            {
                let claimed = input
                    .items
                    .iter()
                    .find(|i| i.line_id == line.line_id)
                    .map_or(0, |i| i.quantity);
                if claimed < line.active_quantity && !missing.contains(&line.line_id) {
                    missing.push(line.line_id);
                }
            }
        }
        if missing.is_empty() {
            ExchangeVerdict {
                allowed: true,
                code: None,
                message: None,
                required_line_ids: Vec::new(),
            }
        } else {
            ExchangeVerdict {
                allowed: false,
                code: Some("BUNDLE_MUST_BE_WHOLE".into()),
                message: Some("a set is exchanged whole: add every unit of its other lines".into()),
                required_line_ids: missing,
            }
        }
    }

    fn claim_window(&self, input: &ClaimWindowInput) -> WindowVerdict {
        let start = match input.reason {
            Reason::DeliveryDelayed => input.shipped_at,
            _ => input.delivered_at.or(input.shipped_at),
        };
        let Some(start) = start else {
            return WindowVerdict {
                allowed: true,
                message: None,
            };
        };
        let (limit, rule) = match input.reason {
            Reason::Defective | Reason::WrongItemDelivered => {
                (start + Duration::days(92), "3 months of delivery")
            }
            Reason::DeliveryDelayed => (
                input.delivered_at.unwrap_or(input.now) + Duration::days(7),
                "7 days after delivery",
            ),
            Reason::ChangeOfMind
            | Reason::OrderedByMistake
            | Reason::SizeOrOptionChange
            | Reason::Other
            | Reason::OutOfStock => (start + Duration::days(7), "7 days of delivery"),
        };
        if input.fault == Fault::Customer && input.purchase_confirmed_at.is_some() {
            return WindowVerdict {
                allowed: false,
                message: Some(
                    "the purchase is confirmed: only the seller's faults can still be claimed"
                        .into(),
                ),
            };
        }
        if input.now > limit {
            return WindowVerdict {
                allowed: false,
                message: Some(format!(
                    "{} claims must be made within {rule}",
                    input.reason.as_str()
                )),
            };
        }
        WindowVerdict {
            allowed: true,
            message: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
    }

    fn window(reason: Reason, delivered: i64, now: i64, confirmed: bool) -> bool {
        DefaultPolicy
            .claim_window(&ClaimWindowInput {
                claim_type: ClaimType::Return,
                reason,
                fault: reason.default_fault(),
                shipped_at: Some(at(delivered - 2)),
                delivered_at: Some(at(delivered)),
                purchase_confirmed_at: confirmed.then(|| at(delivered + 1)),
                now: at(now),
            })
            .allowed
    }

    #[test]
    fn windows_follow_the_consumer_protection_rules() {
        assert!(window(Reason::ChangeOfMind, 10, 17, false));
        assert!(!window(Reason::ChangeOfMind, 10, 18, false));
        assert!(window(Reason::Defective, 10, 90, false));
        assert!(!window(Reason::Defective, 10, 103, false));
        assert!(!window(Reason::ChangeOfMind, 10, 12, true));
        assert!(window(Reason::Defective, 10, 12, true));
    }

    fn item(line: i64, qty: u32, bundle: Option<&str>) -> PolicyItem {
        PolicyItem {
            line_id: line,
            product_id: 1,
            option_id: 1,
            unit_price: Won::new(1000),
            quantity: qty,
            bundle_id: bundle.map(str::to_owned),
        }
    }

    #[test]
    fn sets_are_exchanged_whole_unless_the_seller_is_at_fault() {
        let lines = vec![
            OrderLineView {
                line_id: 1,
                bundle_id: Some("SET".into()),
                active_quantity: 1,
            },
            OrderLineView {
                line_id: 2,
                bundle_id: Some("SET".into()),
                active_quantity: 1,
            },
        ];
        let input = |fault, items| ExchangeRulesInput {
            reason: Reason::SizeOrOptionChange,
            fault,
            order_lines: lines.clone(),
            items,
            now: at(0),
        };
        let v =
            DefaultPolicy.exchange_rules(&input(Fault::Customer, vec![item(1, 1, Some("SET"))]));
        assert!(!v.allowed);
        assert_eq!(v.required_line_ids, vec![2]);
        assert!(
            DefaultPolicy
                .exchange_rules(&input(
                    Fault::Customer,
                    vec![item(1, 1, Some("SET")), item(2, 1, Some("SET"))]
                ))
                .allowed
        );
        assert!(
            DefaultPolicy
                .exchange_rules(&input(Fault::Seller, vec![item(1, 1, Some("SET"))]))
                .allowed
        );
    }

    #[test]
    fn fees_by_fault() {
        let input = |claim_type, reason| ClaimFeesInput {
            claim_type,
            reason,
            memo: None,
            items: vec![],
            base_fee: Won::new(3000),
            free_threshold: Won::new(50000),
            shipping_fee_paid: Won::ZERO,
            return_fee: Won::new(2500),
            collection_method: "PICKUP".into(),
            delivered_at: None,
            now: at(0),
        };
        assert_eq!(
            DefaultPolicy
                .claim_fees(&input(ClaimType::Exchange, Reason::ChangeOfMind))
                .exchange_fee,
            Won::new(5000)
        );
        let d = DefaultPolicy.claim_fees(&input(ClaimType::Exchange, Reason::Defective));
        assert_eq!((d.fault, d.exchange_fee), (Fault::Seller, Won::ZERO));
    }
}

//! Which events notify whom: one `const` table ([`RULES`]) that the dispatcher reads through
//! [`notifications_for_event`] and that [`markdown`] renders as `docs/notifications.md`, so the
//! documentation cannot drift from what is sent.
//!
//! A rule listens to a *trigger*. For order steps and for claims that change status the
//! trigger is the event type (`order.shipped`, `claim.exchange_collected`). Transitions that
//! keep the claim's status (holds, fee payments on a hold, refund repairs) still write an event
//! of type `claim.<unchanged status>`; re-sending that status' notification would tell the
//! customer twice that their goods were collected, so [`trigger`] names them by what happened
//! instead (`claim.held`, `claim.hold_released`, ...), or by nothing for the repairs nobody
//! needs to hear about.
//!
//! Decisions, following Korean marketplace practice (the table is the reference):
//! - the customer hears that an order was placed, paid by deposit, shipped, delivered and
//!   purchase-confirmed, and every claim status they have to know or act on: the request was
//!   received, approved (pickup coming), collected, a fee is due, refunding, completed,
//!   rejected, withdrawn, converted, reshipped, held and released;
//! - the seller hears what needs work: new paid orders to prepare, claim requests, collected
//!   goods to inspect, withdrawals (stop the pickup, ship the order after all), conversions,
//!   final rejections (send collected goods back), holds, and the operator's answers to its
//!   hold and rejection requests;
//! - nobody hears about `order.preparing` (the seller did it; the customer hears at shipment)
//!   or `*_REJECT_PENDING` (an operator decides first; see [`SILENT`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::domain::claim::{ClaimAction, ClaimStatus};
use crate::outbox::{claim_event_type, Audience, Event};

use Audience::{Customer, Seller};
use ClaimStatus as S;

/// One notification an event calls for: to whom, rendered with which template
/// (`super::templates` holds one per template and audience).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The customer of the order, or each seller whose lines the event concerns.
    pub audience: Audience,
    /// The template key (`claim.collected`).
    pub template: &'static str,
}

/// What a rule listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// Exactly this trigger: an order event type (`order.shipped`, see [`ORDER_EVENTS`]) or a
    /// claim change that keeps the status (see [`CLAIM_TRIGGERS`]).
    Exact(&'static str),
    /// A claim entering any of these statuses: the event types `claim.<status in lower case>`.
    Statuses(&'static [ClaimStatus]),
}

impl On {
    /// Whether the trigger is one this rule listens to.
    pub fn matches(self, trigger: &str) -> bool {
        match self {
            On::Exact(key) => key == trigger,
            On::Statuses(statuses) => status_of(trigger).is_some_and(|s| statuses.contains(&s)),
        }
    }
}

/// A row of the routing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The triggers it answers.
    pub on: On,
    /// Who hears.
    pub audience: Audience,
    /// The template key.
    pub template: &'static str,
}

/// Triggers that deliberately notify nobody, with the reason (rendered in the docs). Every
/// trigger is either in a [`Rule`] or here: a test fails when a new status or order step is
/// left undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silent {
    /// The triggers.
    pub on: On,
    /// Why nobody hears.
    pub why: &'static str,
}

/// The order events (`outbox::record_order`) with a Korean description, in lifecycle order.
pub const ORDER_EVENTS: &[(&str, &str)] = &[
    (
        "order.placed",
        "주문 접수 (입금 대기, 또는 적립금으로 결제 완료)",
    ),
    ("order.paid", "카드 결제 완료 (카드 주문은 이때 접수)"),
    ("order.deposit_confirmed", "입금 확인"),
    ("order.preparing", "발주 확인, 상품 준비 시작"),
    ("order.shipped", "발송 (배송 시작)"),
    ("order.delivered", "배송 완료"),
    ("order.purchase_confirmed", "구매확정"),
];

/// Claim changes that keep the status, named by what happened ([`trigger`]), with a Korean
/// description and the actions behind them.
pub const CLAIM_TRIGGERS: &[(&str, &str, &str)] = &[
    (
        "claim.held",
        "보류 (보류 승인 포함)",
        "`holdClaim` placing a hold in force, `approveHold`",
    ),
    (
        "claim.hold_released",
        "보류 해제, 배송비 결제·면제로 보류 종료",
        "`releaseHold`; `payClaimFee`, `waiveClaimFee` on the fee hold",
    ),
    (
        "claim.hold_declined",
        "판매자의 보류 요청 반려",
        "`declineHold`",
    ),
    (
        "claim.rejection_declined",
        "판매자의 거부 요청 반려 (이전 상태로 복귀)",
        "`declineRejection`",
    ),
];

const fn rule(on: On, audience: Audience, template: &'static str) -> Rule {
    Rule {
        on,
        audience,
        template,
    }
}

/// The routing table: which trigger notifies whom with which template. Read by
/// [`notifications_for`] and rendered by [`markdown`].
pub const RULES: &[Rule] = &[
    // Orders.
    rule(On::Exact("order.placed"), Customer, "order.placed"),
    rule(On::Exact("order.placed"), Seller, "order.placed"),
    // A card order is placed, for the customer and the seller, once its payment is confirmed.
    rule(On::Exact("order.paid"), Customer, "order.placed"),
    rule(On::Exact("order.paid"), Seller, "order.placed"),
    rule(
        On::Exact("order.deposit_confirmed"),
        Customer,
        "order.deposit_confirmed",
    ),
    rule(
        On::Exact("order.deposit_confirmed"),
        Seller,
        "order.deposit_confirmed",
    ),
    rule(On::Exact("order.shipped"), Customer, "order.shipped"),
    rule(On::Exact("order.delivered"), Customer, "order.delivered"),
    rule(
        On::Exact("order.purchase_confirmed"),
        Customer,
        "order.purchase_confirmed",
    ),
    // Claims: requests reach both sides (the customer's receipt, the seller's to-do).
    rule(
        On::Statuses(&[S::CancelRequested, S::ReturnRequested, S::ExchangeRequested]),
        Customer,
        "claim.requested",
    ),
    rule(
        On::Statuses(&[S::CancelRequested, S::ReturnRequested, S::ExchangeRequested]),
        Seller,
        "claim.requested",
    ),
    // Approved: the pickup is coming. The seller approved it itself (or an operator did, and
    // the seller's claim list shows it).
    rule(
        On::Statuses(&[S::ReturnCollecting, S::ExchangeCollecting]),
        Customer,
        "claim.collecting",
    ),
    // Collected: the customer waits for the refund or the replacement; the seller inspects.
    rule(
        On::Statuses(&[S::ReturnCollected, S::ExchangeCollected]),
        Customer,
        "claim.collected",
    ),
    rule(
        On::Statuses(&[S::ReturnCollected, S::ExchangeCollected]),
        Seller,
        "claim.collected",
    ),
    rule(
        On::Statuses(&[S::ReturnAwaitingFee]),
        Customer,
        "claim.awaiting_fee",
    ),
    rule(
        On::Statuses(&[S::CancelRefunding, S::ReturnRefunding, S::ExchangeRefunding]),
        Customer,
        "claim.refunding",
    ),
    rule(
        On::Statuses(&[
            S::CancelCompleted,
            S::ReturnCompleted,
            S::ExchangeCompleted,
            S::ExchangeRefunded,
        ]),
        Customer,
        "claim.completed",
    ),
    rule(
        On::Statuses(&[S::ExchangeReshipping]),
        Customer,
        "claim.reshipping",
    ),
    rule(
        On::Statuses(&[S::CancelRejected, S::ReturnRejected, S::ExchangeRejected]),
        Customer,
        "claim.rejected",
    ),
    // A final rejection of a return or exchange may oblige the seller to send collected goods
    // back; a rejected cancel is the seller's own decision (or its shipment).
    rule(
        On::Statuses(&[S::ReturnRejected, S::ExchangeRejected]),
        Seller,
        "claim.rejected",
    ),
    rule(
        On::Statuses(&[S::CancelWithdrawn, S::ReturnWithdrawn, S::ExchangeWithdrawn]),
        Customer,
        "claim.withdrawn",
    ),
    rule(
        On::Statuses(&[S::CancelWithdrawn, S::ReturnWithdrawn, S::ExchangeWithdrawn]),
        Seller,
        "claim.withdrawn",
    ),
    rule(
        On::Statuses(&[S::ReturnConverted, S::ExchangeConverted]),
        Customer,
        "claim.converted",
    ),
    rule(
        On::Statuses(&[S::ReturnConverted, S::ExchangeConverted]),
        Seller,
        "claim.converted",
    ),
    // Changes that keep the status.
    rule(On::Exact("claim.held"), Customer, "claim.held"),
    rule(On::Exact("claim.held"), Seller, "claim.held"),
    rule(
        On::Exact("claim.hold_released"),
        Customer,
        "claim.hold_released",
    ),
    rule(
        On::Exact("claim.hold_released"),
        Seller,
        "claim.hold_released",
    ),
    rule(
        On::Exact("claim.hold_declined"),
        Seller,
        "claim.hold_declined",
    ),
    rule(
        On::Exact("claim.rejection_declined"),
        Seller,
        "claim.rejection_declined",
    ),
];

/// The triggers that notify nobody, and why.
pub const SILENT: &[Silent] = &[
    Silent {
        on: On::Exact("order.preparing"),
        why: "the seller confirmed the order itself; the customer hears when it ships",
    },
    Silent {
        on: On::Statuses(&[S::ReturnRejectPending, S::ExchangeRejectPending]),
        why: "an operator decides the seller's rejection first: the customer hears the \
              outcome (`*_REJECTED`), the seller hears `claim.rejection_declined` when the \
              operator overrules it",
    },
];

/// The notifications a trigger (an event type, or a name from [`trigger`]) calls for, in table
/// order. Unknown triggers call for none.
pub fn notifications_for(event_type: &str) -> Vec<Notification> {
    RULES
        .iter()
        .filter(|rule| rule.on.matches(event_type))
        .map(|rule| Notification {
            audience: rule.audience,
            template: rule.template,
        })
        .collect()
}

/// The notifications a committed event calls for: [`notifications_for`] its [`trigger`].
pub fn notifications_for_event(event: &Event) -> Vec<Notification> {
    trigger(event).map_or_else(Vec::new, |t| notifications_for(&t))
}

/// What a committed event means for notifications: its event type, except for claim
/// transitions that keep the status, which are named by their action (`claim.held`, ...) or
/// notify nobody (`None`: refund repairs, a seller's hold waiting for an operator).
///
/// Reads the claim message's payload: `action` (a [`ClaimAction`] code), `fromStatus` and
/// `status`, and `hold` (`NONE`, `HOLD_PENDING` or `HELD` after the transition; without it a
/// placed hold counts as in force). An event without a known action keeps its event type.
pub fn trigger(event: &Event) -> Option<Cow<'_, str>> {
    let event_type = Some(Cow::Borrowed(event.event_type.as_str()));
    if !event.event_type.starts_with("claim.") {
        return event_type;
    }
    let Some(action) = event.data["action"].as_str().and_then(ClaimAction::parse) else {
        return event_type;
    };
    let to = event
        .status
        .as_deref()
        .or_else(|| event.data["status"].as_str());
    let stays = to.is_some() && event.data["fromStatus"].as_str() == to;
    let named = |name: &'static str| Some(Cow::Borrowed(name));
    use ClaimAction as A;
    match action {
        A::DeclineRejection => named("claim.rejection_declined"),
        A::HoldClaim | A::ApproveHold => {
            if event.data["hold"].as_str() == Some("HOLD_PENDING") {
                None
            } else {
                named("claim.held")
            }
        }
        A::DeclineHold => named("claim.hold_declined"),
        A::ReleaseHold => named("claim.hold_released"),
        // On the fee hold the status stays; on RETURN_AWAITING_FEE it moves to completed.
        A::PayClaimFee | A::WaiveClaimFee => {
            if stays {
                named("claim.hold_released")
            } else {
                event_type
            }
        }
        // Repairs of refund parts: the customer hears when the status moves (completed).
        A::RetryRefund | A::ResolveRefundManually | A::SetRefundAccount => {
            if stays {
                None
            } else {
                event_type
            }
        }
        // Status changes (a second reshipment stays in EXCHANGE_RESHIPPING and is news too).
        A::RequestCancel
        | A::SellerCancel
        | A::RequestReturn
        | A::RequestExchange
        | A::Approve
        | A::Reject
        | A::ApproveRejection
        | A::Withdraw
        | A::MarkCollected
        | A::ReshipExchange
        | A::CompleteReturn
        | A::CompleteExchange
        | A::RefundExchange
        | A::ConvertToExchange
        | A::ConvertToReturn
        | A::RefundSucceeded
        | A::ShippedOverCancel
        | A::FeeUnpaidTimeout => event_type,
    }
}

/// The claim status of a `claim.<status>` trigger.
fn status_of(trigger: &str) -> Option<ClaimStatus> {
    let code = trigger.strip_prefix("claim.")?;
    ClaimStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str().eq_ignore_ascii_case(code))
}

/// The checked-in documentation of the table (`docs/notifications.md`).
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Notifications (알림)\n\n");
    out.push_str(
        "<!-- Generated from src/notify/routing.rs; do not edit. Regenerate with \
         `UPDATE_DOCS=1 cargo test -p oms notify::routing`. -->\n\n",
    );
    out.push_str(
        "Which committed events notify the customer of the order and the sellers whose lines \
         they concern, by mail and 알림톡, with which template (`src/notify/templates.rs`, one \
         per template and audience, in Korean). A trigger is the event's type, except for \
         claim changes that keep the status, which are named by what happened (last table). \
         Refund repairs that keep the status (`retryRefund`, `resolveRefundManually`, \
         `setRefundAccount`) and a seller's hold waiting for an operator notify nobody.\n\n",
    );

    out.push_str("## Orders\n\n");
    table_header(&mut out, "event type");
    for (event_type, korean) in ORDER_EVENTS {
        table_row(&mut out, event_type, korean);
    }

    out.push_str("\n## Claims: a new status\n\n");
    table_header(&mut out, "event type");
    for status in ClaimStatus::ALL.iter().copied() {
        table_row(&mut out, &claim_event_type(status), status.korean());
    }

    out.push_str("\n## Claims: changes that keep the status\n\n");
    out.push_str("| trigger | 설명 | actions | customer | seller | template |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (name, korean, actions) in CLAIM_TRIGGERS {
        let (customer, seller, templates) = cells(name);
        let _ = writeln!(
            out,
            "| `{name}` | {korean} | {actions} | {customer} | {seller} | {templates} |"
        );
    }

    out.push_str("\n## Nobody hears\n\n");
    for silent in SILENT {
        let triggers = match silent.on {
            On::Exact(key) => format!("`{key}`"),
            On::Statuses(statuses) => statuses
                .iter()
                .map(|s| format!("`{}`", claim_event_type(*s)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(out, "- {triggers}: {}.", silent.why);
    }
    out
}

fn table_header(out: &mut String, first: &str) {
    let _ = writeln!(out, "| {first} | 설명 | customer | seller | template |");
    out.push_str("|---|---|---|---|---|\n");
}

fn table_row(out: &mut String, trigger: &str, korean: &str) {
    let (customer, seller, templates) = cells(trigger);
    let _ = writeln!(
        out,
        "| `{trigger}` | {korean} | {customer} | {seller} | {templates} |"
    );
}

/// The customer, seller and template cells of a trigger's row.
fn cells(trigger: &str) -> (&'static str, &'static str, String) {
    let notifications = notifications_for(trigger);
    let hears = |audience: Audience| {
        if notifications.iter().any(|n| n.audience == audience) {
            "yes"
        } else {
            ""
        }
    };
    let mut templates: Vec<String> = Vec::new();
    for n in &notifications {
        let cell = format!("`{}`", n.template);
        if !templates.contains(&cell) {
            templates.push(cell);
        }
    }
    let templates = if templates.is_empty() {
        "—".to_owned()
    } else {
        templates.join(", ")
    };
    (hears(Customer), hears(Seller), templates)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::domain::order::LineStep;

    const CHECKED_IN: &str = include_str!("../../docs/notifications.md");

    /// Every trigger the system can produce: order events, claim statuses, named changes.
    fn all_triggers() -> Vec<String> {
        ORDER_EVENTS
            .iter()
            .map(|(t, _)| (*t).to_owned())
            .chain(ClaimStatus::ALL.iter().map(|s| claim_event_type(*s)))
            .chain(CLAIM_TRIGGERS.iter().map(|(t, _, _)| (*t).to_owned()))
            .collect()
    }

    fn event(event_type: &str, data: serde_json::Value) -> Event {
        Event {
            id: 1,
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 24, 5, 0, 0).unwrap(),
            order_number: "20261124-000123".into(),
            claim_number: Some("C20261124-0001".into()),
            claim_type: Some("EXCHANGE".into()),
            status: data["status"].as_str().map(str::to_owned),
            seller_ids: vec![7],
            customer_id: 3,
            data,
        }
    }

    /// The checked-in doc must be what the table renders; `UPDATE_DOCS=1` rewrites it.
    #[test]
    fn checked_in_doc_matches_the_table() {
        let rendered = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join("notifications.md");
            if let Err(error) = std::fs::write(&path, &rendered) {
                panic!("cannot write {}: {error}", path.display());
            }
            return;
        }
        if CHECKED_IN != rendered {
            let line = CHECKED_IN
                .lines()
                .zip(rendered.lines())
                .position(|(old, new)| old != new)
                .unwrap_or_else(|| CHECKED_IN.lines().count().min(rendered.lines().count()));
            panic!(
                "docs/notifications.md differs from the routing table (first at line {}). \
                 Regenerate it with `UPDATE_DOCS=1 cargo test -p oms notify::routing` and \
                 commit the result.",
                line + 1
            );
        }
    }

    #[test]
    fn every_trigger_is_decided_exactly_once() {
        for trigger in all_triggers() {
            let routed = RULES.iter().any(|r| r.on.matches(&trigger));
            let silent = SILENT.iter().any(|s| s.on.matches(&trigger));
            assert!(
                routed != silent,
                "{trigger}: routed {routed}, silent {silent}"
            );
        }
    }

    #[test]
    fn every_rule_answers_a_known_trigger_and_none_repeats() {
        let triggers = all_triggers();
        for rule in RULES {
            if let On::Exact(key) = rule.on {
                assert!(triggers.iter().any(|t| t == key), "unknown trigger {key}");
            }
        }
        for trigger in &triggers {
            let notifications = notifications_for(trigger);
            for (i, n) in notifications.iter().enumerate() {
                assert!(
                    !notifications[..i].iter().any(|m| m.audience == n.audience),
                    "{trigger} notifies {:?} twice",
                    n.audience
                );
            }
        }
    }

    #[test]
    fn order_steps_are_all_listed() {
        // The match fails to compile when a step is added: list its event in ORDER_EVENTS.
        let steps = |step: LineStep| match step {
            LineStep::ConfirmDeposit
            | LineStep::ConfirmPayment
            | LineStep::ConfirmOrder
            | LineStep::Ship
            | LineStep::MarkDelivered
            | LineStep::ConfirmPurchase => step.event_type(),
        };
        for step in [
            LineStep::ConfirmDeposit,
            LineStep::ConfirmPayment,
            LineStep::ConfirmOrder,
            LineStep::Ship,
            LineStep::MarkDelivered,
            LineStep::ConfirmPurchase,
        ] {
            let event_type = steps(step);
            assert!(
                ORDER_EVENTS.iter().any(|(t, _)| *t == event_type),
                "{event_type} missing from ORDER_EVENTS"
            );
        }
    }

    #[test]
    fn triggers_parse_back_and_never_collide_with_statuses() {
        for status in ClaimStatus::ALL.iter().copied() {
            assert_eq!(status_of(&claim_event_type(status)), Some(status));
        }
        for (name, _, _) in CLAIM_TRIGGERS {
            assert_eq!(status_of(name), None, "{name} collides with a status");
        }
    }

    #[test]
    fn the_example_routes_to_both_sides() {
        assert_eq!(
            notifications_for("claim.exchange_collected"),
            vec![
                Notification {
                    audience: Customer,
                    template: "claim.collected"
                },
                Notification {
                    audience: Seller,
                    template: "claim.collected"
                },
            ]
        );
        assert!(notifications_for("order.preparing").is_empty());
        assert!(notifications_for("claim.nonsense").is_empty());
    }

    #[test]
    fn changes_that_keep_the_status_are_named_by_what_happened() {
        let stay = |action: &str, extra: serde_json::Value| {
            let mut data = json!({
                "action": action,
                "fromStatus": "EXCHANGE_COLLECTED",
                "status": "EXCHANGE_COLLECTED",
            });
            if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
                data.extend(extra.clone());
            }
            trigger(&event("claim.exchange_collected", data)).map(Cow::into_owned)
        };
        assert_eq!(stay("HOLD_CLAIM", json!({})).as_deref(), Some("claim.held"));
        assert_eq!(stay("HOLD_CLAIM", json!({"hold": "HOLD_PENDING"})), None);
        assert_eq!(
            stay("APPROVE_HOLD", json!({"hold": "HELD"})).as_deref(),
            Some("claim.held")
        );
        assert_eq!(
            stay("DECLINE_HOLD", json!({})).as_deref(),
            Some("claim.hold_declined")
        );
        assert_eq!(
            stay("RELEASE_HOLD", json!({})).as_deref(),
            Some("claim.hold_released")
        );
        assert_eq!(
            stay("PAY_CLAIM_FEE", json!({})).as_deref(),
            Some("claim.hold_released")
        );
        assert_eq!(stay("RETRY_REFUND", json!({})), None);
        assert_eq!(stay("SET_REFUND_ACCOUNT", json!({})), None);
        assert_eq!(
            stay("DECLINE_REJECTION", json!({})).as_deref(),
            Some("claim.rejection_declined")
        );
        // A second reshipment is news.
        let again = event(
            "claim.exchange_reshipping",
            json!({"action": "RESHIP_EXCHANGE", "fromStatus": "EXCHANGE_RESHIPPING",
                   "status": "EXCHANGE_RESHIPPING"}),
        );
        assert_eq!(
            notifications_for_event(&again),
            vec![Notification {
                audience: Customer,
                template: "claim.reshipping"
            }]
        );
        // Paying the fee of RETURN_AWAITING_FEE completes the return.
        let paid = event(
            "claim.return_completed",
            json!({"action": "PAY_CLAIM_FEE", "fromStatus": "RETURN_AWAITING_FEE",
                   "status": "RETURN_COMPLETED"}),
        );
        assert_eq!(trigger(&paid).as_deref(), Some("claim.return_completed"));
        // Openings have no previous status; order events keep their type.
        let opened = event(
            "claim.exchange_requested",
            json!({"action": "REQUEST_EXCHANGE", "fromStatus": null,
                   "status": "EXCHANGE_REQUESTED"}),
        );
        assert_eq!(notifications_for_event(&opened).len(), 2);
        let shipped = event("order.shipped", json!({"lineIds": [1]}));
        assert_eq!(trigger(&shipped).as_deref(), Some("order.shipped"));
    }
}

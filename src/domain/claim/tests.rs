//! Tests of the claim tables against `claims.md`: its rows one by one, the hold rules, the
//! actors, the shape of the table (no overlaps, every row reachable), and a property test that
//! drives random action sequences through `decide` and an independent reference model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashSet, VecDeque};

use proptest::prelude::*;

use super::super::actor::Role;
use super::*;

use ClaimAction as A;
use ClaimStatus as S;
use Role::{Analyst, Customer, Operator, Seller, System};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn at(status: ClaimStatus) -> ClaimFacts {
    ClaimFacts::at(status)
}

fn carrying(status: ClaimStatus) -> ClaimFacts {
    ClaimFacts {
        carries_collection: true,
        ..at(status)
    }
}

fn held(facts: ClaimFacts, reason: HoldReason, by: Role) -> ClaimFacts {
    ClaimFacts {
        hold: HoldState::Held { reason, by },
        ..facts
    }
}

fn settled(facts: ClaimFacts, settlement: Settlement) -> ClaimFacts {
    ClaimFacts {
        settlement,
        ..facts
    }
}

fn with_refund(
    facts: ClaimFacts,
    failed: bool,
    account_required: bool,
    pending: bool,
) -> ClaimFacts {
    ClaimFacts {
        refund: RefundFacts {
            failed,
            account_required,
            pending,
        },
        ..facts
    }
}

/// The status `decide` leads to, panicking with the refusal otherwise.
fn goes(facts: ClaimFacts, action: ClaimAction, role: Role) -> ClaimStatus {
    match decide(&facts, action, role) {
        Ok(transition) => transition.to,
        Err(refusal) => panic!("{refusal}"),
    }
}

fn refused(facts: ClaimFacts, action: ClaimAction, role: Role) -> bool {
    decide(&facts, action, role).is_err()
}

const HOLDS: [HoldState; 6] = [
    HoldState::None,
    HoldState::Pending {
        reason: HoldReason::Inspection,
        by: Seller,
    },
    HoldState::Held {
        reason: HoldReason::Inspection,
        by: Operator,
    },
    HoldState::Held {
        reason: HoldReason::DamagedByCustomer,
        by: Seller,
    },
    HoldState::FEE_UNPAID,
    HoldState::Held {
        reason: HoldReason::CustomerDispute,
        by: Operator,
    },
];

/// A broad space of facts: every status, hold, carry, refund-part combination and settlement.
fn all_facts() -> Vec<ClaimFacts> {
    let mut out = Vec::new();
    for status in ClaimStatus::ALL.iter().copied() {
        for hold in HOLDS {
            for carries_collection in [false, true] {
                for bits in 0..8u8 {
                    for settlement in Settlement::ALL {
                        out.push(ClaimFacts {
                            status,
                            hold,
                            carries_collection,
                            rejected_from: rejection_sources(status).next(),
                            refund: RefundFacts {
                                failed: bits & 1 != 0,
                                account_required: bits & 2 != 0,
                                pending: bits & 4 != 0,
                            },
                            settlement,
                        });
                    }
                }
            }
        }
    }
    out
}

/// A smaller space for tests that call `decide` on everything: no settlement variety, and
/// refunds with at most one part in trouble.
fn core_facts() -> Vec<ClaimFacts> {
    all_facts()
        .into_iter()
        .filter(|facts| facts.settlement == Settlement::InPlace)
        .filter(|facts| {
            let RefundFacts {
                failed,
                account_required,
                pending,
            } = facts.refund;
            u8::from(failed) + u8::from(account_required) + u8::from(pending) <= 1
        })
        .collect()
}

fn claim_actions() -> impl Iterator<Item = ClaimAction> {
    ClaimAction::ALL
        .iter()
        .copied()
        .filter(|action| action.kind() != ActionKind::Opening)
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

#[test]
fn codes_are_the_screaming_snake_case_of_the_variants_and_parse_back() {
    fn check<T: Copy + std::fmt::Debug + PartialEq>(
        all: &[T],
        code: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for value in all.iter().copied() {
            assert_eq!(code(value), snake(&format!("{value:?}")));
            assert_eq!(parse(code(value)), Some(value));
        }
    }
    check(ClaimType::ALL, ClaimType::as_str, ClaimType::parse);
    check(ClaimStatus::ALL, ClaimStatus::as_str, ClaimStatus::parse);
    check(ClaimAction::ALL, ClaimAction::as_str, ClaimAction::parse);
    check(HoldReason::ALL, HoldReason::as_str, HoldReason::parse);
    check(Reason::ALL, Reason::as_str, Reason::parse);
    check(LineStatus::ALL, LineStatus::as_str, LineStatus::parse);
    assert_eq!(ClaimStatus::parse("NOPE"), None);
}

#[test]
fn the_vocabulary_is_complete() {
    assert_eq!(ClaimStatus::ALL.len(), 26);
    assert_eq!(ClaimAction::ALL.len(), 28);
    assert_eq!(Reason::ALL.len(), 8);
    assert_eq!(LineStatus::ALL.len(), 8);
    assert_eq!(HoldReason::ALL.len(), 5);
    for status in ClaimStatus::ALL {
        assert!(status.as_str().starts_with(status.claim_type().as_str()));
    }
}

#[test]
fn default_fault_follows_the_reasons_table() {
    let seller = [
        Reason::Defective,
        Reason::WrongItemDelivered,
        Reason::DeliveryDelayed,
        Reason::OutOfStock,
    ];
    for reason in Reason::ALL.iter().copied() {
        let expected = if seller.contains(&reason) {
            Fault::Seller
        } else {
            Fault::Customer
        };
        assert_eq!(reason.default_fault(), expected, "{reason}");
    }
    assert_eq!(Reason::SizeOrOptionChange.korean(), "사이즈·옵션 변경");
}

#[test]
fn mutation_names_follow_api_md() {
    assert_eq!(A::Approve.mutation_name(), "approveClaim");
    assert_eq!(A::Reject.mutation_name(), "rejectClaim");
    assert_eq!(A::Withdraw.mutation_name(), "withdrawClaim");
    assert_eq!(A::ReshipExchange.mutation_name(), "reshipExchange");
    assert_eq!(A::ConvertToExchange.mutation_name(), "convertClaim");
    assert_eq!(A::ConvertToReturn.mutation_name(), "convertClaim");
    assert_eq!(
        A::ResolveRefundManually.mutation_name(),
        "resolveRefundManually"
    );
    let api = [
        "requestCancel",
        "requestReturn",
        "requestExchange",
        "approveClaim",
        "rejectClaim",
        "approveRejection",
        "withdrawClaim",
        "markCollected",
        "declineRejection",
        "holdClaim",
        "approveHold",
        "declineHold",
        "releaseHold",
        "reshipExchange",
        "completeReturn",
        "completeExchange",
        "refundExchange",
        "convertClaim",
        "payClaimFee",
        "waiveClaimFee",
        "sellerCancel",
        "retryRefund",
        "resolveRefundManually",
        "setRefundAccount",
    ];
    let ours: HashSet<&str> = ClaimAction::ALL
        .iter()
        .filter(|action| action.kind() != ActionKind::Fact)
        .map(|action| action.mutation_name())
        .collect();
    assert_eq!(ours, api.into_iter().collect());
}

#[test]
fn hold_ending_statuses_are_the_ones_claims_md_names() {
    let ending: Vec<ClaimStatus> = ClaimStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.ends_hold())
        .collect();
    for status in ending.iter() {
        assert!(
            status.is_terminal()
                || status.is_refunding()
                || status.is_reject_pending()
                || *status == S::ReturnAwaitingFee
        );
    }
    let holdable: Vec<ClaimStatus> = ClaimStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.is_holdable())
        .collect();
    assert_eq!(
        holdable,
        [
            S::CancelRequested,
            S::ReturnRequested,
            S::ReturnCollecting,
            S::ReturnCollected,
            S::ExchangeRequested,
            S::ExchangeCollecting,
            S::ExchangeCollected,
            S::ExchangeReshipping,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The rows of claims.md, one by one
// ---------------------------------------------------------------------------------------------

#[test]
fn cancel_rows() {
    let requested = at(S::CancelRequested);
    for role in [Seller, Operator] {
        assert_eq!(goes(requested, A::Approve, role), S::CancelCompleted);
        assert_eq!(
            goes(settled(requested, Settlement::Gateway), A::Approve, role),
            S::CancelRefunding
        );
        assert_eq!(goes(requested, A::Reject, role), S::CancelRejected);
    }
    let shipped = decide(&requested, A::ShippedOverCancel, Seller).unwrap();
    assert_eq!(shipped.to, S::CancelRejected);
    assert!(shipped
        .effects
        .contains(&Effect::RecordRejection(RejectionCode::Shipped)));
    assert_eq!(goes(requested, A::Withdraw, Customer), S::CancelWithdrawn);
    assert!(refused(requested, A::Withdraw, Seller));
    assert!(refused(requested, A::Approve, Customer));
    let approve = decide(&requested, A::Approve, Seller).unwrap();
    assert_eq!(
        approve.effects,
        &[Effect::Refund, Effect::RestockUnlessOutOfStock]
    );
}

#[test]
fn opening_rows() {
    let facts = |line, reason: Reason| OpeningFacts {
        line,
        reason,
        fault: reason.default_fault(),
        settlement: Settlement::InPlace,
        fee_above_zero: false,
    };
    let mind = |line| facts(line, Reason::ChangeOfMind);
    let status = |f: OpeningFacts, action, role| open(&f, action, role).map(|o| o.status);

    for role in [Customer, Operator, System] {
        assert_eq!(
            status(mind(LineStatus::AwaitingPayment), A::RequestCancel, role),
            Ok(S::CancelCompleted)
        );
    }
    let paid_gateway = OpeningFacts {
        settlement: Settlement::Gateway,
        ..mind(LineStatus::Paid)
    };
    assert_eq!(
        status(paid_gateway, A::RequestCancel, Customer),
        Ok(S::CancelRefunding)
    );
    assert_eq!(
        status(mind(LineStatus::Paid), A::RequestCancel, Customer),
        Ok(S::CancelCompleted)
    );
    for line in [LineStatus::Paid, LineStatus::Preparing] {
        for role in [Seller, Operator] {
            let opened = open(&facts(line, Reason::OutOfStock), A::SellerCancel, role).unwrap();
            assert_eq!(opened.status, S::CancelCompleted);
            assert!(
                !opened.effects.contains(&OpeningEffect::Restock),
                "no restock on a stock-out"
            );
        }
    }
    assert_eq!(
        status(mind(LineStatus::Preparing), A::RequestCancel, Customer),
        Ok(S::CancelRequested)
    );
    assert_eq!(
        status(mind(LineStatus::Preparing), A::RequestCancel, Operator),
        Ok(S::CancelCompleted)
    );
    for line in [
        LineStatus::Shipped,
        LineStatus::Delivered,
        LineStatus::PurchaseConfirmed,
    ] {
        for role in ROLES {
            let refusal = open(&mind(line), A::RequestCancel, role).unwrap_err();
            assert_eq!(refusal.code(), "CLAIM_NOT_ALLOWED");
        }
    }
    let refusal = open(&mind(LineStatus::Delivered), A::RequestCancel, Customer).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "CLAIM_NOT_ALLOWED: requestCancel is not allowed on a line DELIVERED for CUSTOMER; use \
         requestReturn instead"
    );

    assert_eq!(
        status(mind(LineStatus::Delivered), A::RequestReturn, Customer),
        Ok(S::ReturnRequested)
    );
    assert!(open(&mind(LineStatus::Shipped), A::RequestReturn, Customer).is_err());
    assert_eq!(
        status(
            facts(LineStatus::Shipped, Reason::Defective),
            A::RequestReturn,
            Customer
        ),
        Ok(S::ReturnRequested)
    );
    assert!(open(&mind(LineStatus::Delivered), A::RequestReturn, Seller).is_err());
    assert!(open(
        &facts(LineStatus::Delivered, Reason::OutOfStock),
        A::RequestReturn,
        Customer
    )
    .is_err());

    let exchange = open(&mind(LineStatus::Delivered), A::RequestExchange, Customer).unwrap();
    assert_eq!(exchange.status, S::ExchangeRequested);
    assert_eq!(exchange.hold, HoldState::None);
    let with_fee = OpeningFacts {
        fee_above_zero: true,
        ..mind(LineStatus::Delivered)
    };
    assert_eq!(
        open(&with_fee, A::RequestExchange, Customer).unwrap().hold,
        HoldState::FEE_UNPAID
    );
    assert!(open(&mind(LineStatus::Shipped), A::RequestExchange, Customer).is_err());
}

#[test]
fn refunding_rows() {
    for (refunding, done) in [
        (S::CancelRefunding, S::CancelCompleted),
        (S::ReturnRefunding, S::ReturnCompleted),
        (S::ExchangeRefunding, S::ExchangeRefunded),
    ] {
        let facts = at(refunding);
        assert_eq!(goes(facts, A::RefundSucceeded, System), done);
        let failed = with_refund(facts, true, false, false);
        assert!(refused(failed, A::RefundSucceeded, System));
        assert_eq!(goes(failed, A::RetryRefund, Operator), refunding);
        assert_eq!(goes(failed, A::ResolveRefundManually, Operator), done);
        let failed_and_pending = with_refund(facts, true, false, true);
        assert_eq!(
            goes(failed_and_pending, A::ResolveRefundManually, Operator),
            refunding
        );
        let account = with_refund(facts, false, true, false);
        assert_eq!(goes(account, A::SetRefundAccount, Customer), refunding);
        assert_eq!(goes(account, A::SetRefundAccount, Operator), refunding);
        // "no customer or seller action applies"
        assert!(available_actions(&facts, Customer).is_empty());
        assert!(available_actions(&facts, Seller).is_empty());
        assert_eq!(available_actions(&account, Customer), [A::SetRefundAccount]);
        assert!(available_actions(&failed, Seller).is_empty());
    }
    // Refund repairs work on claims in other statuses too (a fee refunded on a withdrawal).
    let withdrawn = with_refund(at(S::ExchangeWithdrawn), true, false, false);
    assert_eq!(
        goes(withdrawn, A::RetryRefund, Operator),
        S::ExchangeWithdrawn
    );
    assert_eq!(
        goes(withdrawn, A::ResolveRefundManually, Operator),
        S::ExchangeWithdrawn
    );
    assert!(refused(withdrawn, A::RetryRefund, Seller));
}

#[test]
fn return_rows() {
    let requested = at(S::ReturnRequested);
    for role in [Seller, Operator] {
        assert_eq!(goes(requested, A::Approve, role), S::ReturnCollecting);
        assert_eq!(
            goes(carrying(S::ReturnRequested), A::Approve, role),
            S::ReturnCollected
        );
        assert_eq!(goes(requested, A::Reject, role), S::ReturnRejected);
        assert_eq!(
            goes(at(S::ReturnCollecting), A::MarkCollected, role),
            S::ReturnCollected
        );
        assert_eq!(
            goes(at(S::ReturnCollecting), A::Reject, role),
            S::ReturnRejected
        );
        let collected = at(S::ReturnCollected);
        assert_eq!(goes(collected, A::CompleteReturn, role), S::ReturnCompleted);
        assert_eq!(
            goes(
                settled(collected, Settlement::Gateway),
                A::CompleteReturn,
                role
            ),
            S::ReturnRefunding
        );
        assert_eq!(
            goes(
                settled(collected, Settlement::FeeDue),
                A::CompleteReturn,
                role
            ),
            S::ReturnAwaitingFee
        );
        assert_eq!(
            goes(at(S::ReturnAwaitingFee), A::WaiveClaimFee, role),
            S::ReturnCompleted
        );
        assert_eq!(
            goes(requested, A::ConvertToExchange, role),
            S::ReturnConverted
        );
        assert_eq!(
            goes(at(S::ReturnCollecting), A::ConvertToExchange, role),
            S::ReturnConverted
        );
        assert_eq!(
            goes(collected, A::ConvertToExchange, role),
            S::ReturnConverted
        );
    }
    assert_eq!(
        goes(at(S::ReturnCollecting), A::MarkCollected, System),
        S::ReturnCollected
    );
    for role in [Customer, Operator] {
        assert_eq!(
            goes(at(S::ReturnAwaitingFee), A::PayClaimFee, role),
            S::ReturnCompleted
        );
    }
    assert_eq!(goes(requested, A::Withdraw, Customer), S::ReturnWithdrawn);
    assert_eq!(
        goes(at(S::ReturnCollecting), A::Withdraw, Customer),
        S::ReturnWithdrawn
    );
    assert!(refused(at(S::ReturnCollected), A::Withdraw, Customer));
    assert_eq!(
        goes(requested, A::ConvertToExchange, Customer),
        S::ReturnConverted
    );
    assert!(refused(
        at(S::ReturnCollected),
        A::ConvertToExchange,
        Customer
    ));
    assert_eq!(
        goes(at(S::ReturnCollected), A::Reject, Operator),
        S::ReturnRejected
    );
    assert_eq!(
        goes(at(S::ReturnCollected), A::Reject, Seller),
        S::ReturnRejectPending
    );
    let pending = ClaimFacts {
        rejected_from: Some(S::ReturnCollected),
        ..at(S::ReturnRejectPending)
    };
    assert_eq!(
        goes(pending, A::ApproveRejection, Operator),
        S::ReturnRejected
    );
    assert_eq!(
        goes(pending, A::DeclineRejection, Operator),
        S::ReturnCollected
    );
    assert!(refused(pending, A::ApproveRejection, Seller));
    let complete = decide(&at(S::ReturnCollected), A::CompleteReturn, Seller).unwrap();
    assert_eq!(
        complete.effects,
        &[Effect::Refund, Effect::RestockUnlessDefective]
    );
}

#[test]
fn exchange_rows() {
    let requested = at(S::ExchangeRequested);
    for role in [Seller, Operator] {
        assert_eq!(goes(requested, A::Approve, role), S::ExchangeCollecting);
        assert_eq!(
            goes(carrying(S::ExchangeRequested), A::Approve, role),
            S::ExchangeCollected
        );
        assert_eq!(goes(requested, A::Reject, role), S::ExchangeRejected);
        assert_eq!(
            goes(at(S::ExchangeCollecting), A::MarkCollected, role),
            S::ExchangeCollected
        );
        assert_eq!(
            goes(at(S::ExchangeCollecting), A::Reject, role),
            S::ExchangeRejected
        );
        assert_eq!(
            goes(at(S::ExchangeCollected), A::ReshipExchange, role),
            S::ExchangeReshipping
        );
        assert_eq!(
            goes(at(S::ExchangeReshipping), A::ReshipExchange, role),
            S::ExchangeReshipping
        );
        assert_eq!(
            goes(at(S::ExchangeReshipping), A::CompleteExchange, role),
            S::ExchangeCompleted
        );
        for from in [S::ExchangeCollected, S::ExchangeReshipping] {
            assert_eq!(goes(at(from), A::RefundExchange, role), S::ExchangeRefunded);
            assert_eq!(
                goes(
                    settled(at(from), Settlement::Gateway),
                    A::RefundExchange,
                    role
                ),
                S::ExchangeRefunding
            );
        }
        for from in [
            S::ExchangeRequested,
            S::ExchangeCollecting,
            S::ExchangeCollected,
        ] {
            assert_eq!(
                goes(at(from), A::ConvertToReturn, role),
                S::ExchangeConverted
            );
        }
    }
    assert_eq!(
        goes(at(S::ExchangeReshipping), A::CompleteExchange, System),
        S::ExchangeCompleted
    );
    assert_eq!(
        goes(at(S::ExchangeCollecting), A::MarkCollected, System),
        S::ExchangeCollected
    );
    assert_eq!(goes(requested, A::Withdraw, Customer), S::ExchangeWithdrawn);
    assert_eq!(
        goes(at(S::ExchangeCollecting), A::Withdraw, Customer),
        S::ExchangeWithdrawn
    );
    assert!(refused(at(S::ExchangeCollected), A::Withdraw, Customer));
    assert_eq!(
        goes(requested, A::ConvertToReturn, Customer),
        S::ExchangeConverted
    );
    assert!(refused(
        at(S::ExchangeCollected),
        A::ConvertToReturn,
        Customer
    ));
    assert_eq!(
        goes(at(S::ExchangeCollected), A::Reject, Operator),
        S::ExchangeRejected
    );
    assert_eq!(
        goes(at(S::ExchangeCollected), A::Reject, Seller),
        S::ExchangeRejectPending
    );
    let pending = ClaimFacts {
        rejected_from: Some(S::ExchangeCollected),
        ..at(S::ExchangeRejectPending)
    };
    assert_eq!(
        goes(pending, A::ApproveRejection, Operator),
        S::ExchangeRejected
    );
    assert_eq!(
        goes(pending, A::DeclineRejection, Operator),
        S::ExchangeCollected
    );
    // The fee timer withdraws an exchange whose fee stays unpaid.
    let fee_held = ClaimFacts {
        hold: HoldState::FEE_UNPAID,
        ..requested
    };
    assert_eq!(
        goes(fee_held, A::FeeUnpaidTimeout, System),
        S::ExchangeWithdrawn
    );
    assert!(refused(requested, A::FeeUnpaidTimeout, System));
    // Every exit that does not ship the replacement releases its reservation.
    for (facts, action, role) in [
        (requested, A::Reject, Seller),
        (requested, A::Withdraw, Customer),
        (at(S::ExchangeCollecting), A::Reject, Seller),
        (at(S::ExchangeCollected), A::Reject, Operator),
        (pending, A::ApproveRejection, Operator),
        (at(S::ExchangeCollected), A::RefundExchange, Seller),
        (requested, A::ConvertToReturn, Customer),
        (fee_held, A::FeeUnpaidTimeout, System),
    ] {
        let transition = decide(&facts, action, role).unwrap();
        assert!(
            transition.effects.contains(&Effect::ReleaseReservation),
            "{action}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

#[test]
fn refusals_name_the_status_the_action_and_what_is_allowed() {
    let refusal = decide(&at(S::ReturnCollected), A::Approve, Seller).unwrap_err();
    assert_eq!(refusal.code(), "CLAIM_ACTION_NOT_ALLOWED");
    assert_eq!(refusal.status(), S::ReturnCollected);
    assert_eq!(
        refusal.to_string(),
        "CLAIM_ACTION_NOT_ALLOWED: approveClaim is not allowed in RETURN_COLLECTED for SELLER; \
         allowed now: rejectClaim, holdClaim, completeReturn, convertClaim"
    );
    let held_facts = held(at(S::ReturnCollected), HoldReason::Inspection, Operator);
    let refusal = decide(&held_facts, A::CompleteReturn, Seller).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "CLAIM_ACTION_NOT_ALLOWED: completeReturn is not allowed in RETURN_COLLECTED for SELLER \
         while the claim is held (INSPECTION); allowed now: rejectClaim, convertClaim"
    );
    let refusal = decide(&at(S::CancelCompleted), A::Approve, Analyst).unwrap_err();
    assert!(
        refusal.to_string().ends_with("allowed now: none"),
        "{refusal}"
    );
    // Every refusal names the current status, whatever it is.
    for facts in core_facts().into_iter().step_by(5) {
        for action in claim_actions() {
            for role in ROLES {
                if let Err(refusal) = decide(&facts, action, role) {
                    assert_eq!(refusal.status(), facts.status);
                    assert!(refusal.to_string().contains(facts.status.as_str()));
                }
            }
        }
    }
}

#[test]
fn facts_the_table_cannot_resolve_are_reported_not_guessed() {
    let refusal = decide(&at(S::ReturnRejectPending), A::DeclineRejection, Operator).unwrap_err();
    assert_eq!(refusal.code(), "CLAIM_FACTS_INCONSISTENT");
    let wrong_source = ClaimFacts {
        rejected_from: Some(S::ReturnCompleted),
        ..at(S::ReturnRejectPending)
    };
    assert!(decide(&wrong_source, A::DeclineRejection, Operator).is_err());
    let fee_on_cancel = settled(at(S::CancelRequested), Settlement::FeeDue);
    assert_eq!(
        decide(&fee_on_cancel, A::Approve, Seller)
            .unwrap_err()
            .code(),
        "CLAIM_FACTS_INCONSISTENT"
    );
}

// ---------------------------------------------------------------------------------------------
// Holds
// ---------------------------------------------------------------------------------------------

#[test]
fn while_held_only_the_listed_actions_proceed_and_system_facts_still_apply() {
    let listed = [
        A::ReleaseHold,
        A::PayClaimFee,
        A::WaiveClaimFee,
        A::Reject,
        A::ApproveRejection,
        A::DeclineRejection,
        A::ConvertToExchange,
        A::ConvertToReturn,
        A::RefundExchange,
        A::Withdraw,
        // Not status actions: refund repairs and reported facts.
        A::RetryRefund,
        A::ResolveRefundManually,
        A::SetRefundAccount,
        A::ShippedOverCancel,
        A::RefundSucceeded,
        A::FeeUnpaidTimeout,
    ];
    for facts in core_facts()
        .into_iter()
        .filter(|facts| facts.hold.is_held())
    {
        for action in claim_actions() {
            for role in [Customer, Seller, Operator] {
                if decide(&facts, action, role).is_ok() {
                    assert!(listed.contains(&action), "{action} by {role:?} while held");
                }
            }
        }
    }
    // The same status actions succeed once the hold is gone.
    let hold = held(at(S::ReturnCollected), HoldReason::Inspection, Operator);
    assert!(refused(hold, A::CompleteReturn, Operator));
    assert_eq!(
        goes(at(S::ReturnCollected), A::CompleteReturn, Operator),
        S::ReturnCompleted
    );
    // SYSTEM facts apply while held, and the hold stays.
    let collecting = held(
        at(S::ExchangeCollecting),
        HoldReason::CustomerDispute,
        Operator,
    );
    assert!(refused(collecting, A::MarkCollected, Seller));
    let collected = decide(&collecting, A::MarkCollected, System).unwrap();
    assert_eq!(collected.to, S::ExchangeCollected);
    assert_eq!(collected.hold, HoldChange::Keep);
    // ... and a SYSTEM fact into a terminal status ends it.
    let reshipping = held(at(S::ExchangeReshipping), HoldReason::Other, Seller);
    let done = decide(&reshipping, A::CompleteExchange, System).unwrap();
    assert_eq!(done.to, S::ExchangeCompleted);
    assert_eq!(done.hold, HoldChange::Clear);
    // refundExchange "held or not".
    assert_eq!(
        goes(reshipping, A::RefundExchange, Seller),
        S::ExchangeRefunded
    );
}

#[test]
fn hold_pending_blocks_nothing() {
    for status in ClaimStatus::ALL.iter().copied().filter(|s| s.is_holdable()) {
        for carries_collection in [false, true] {
            let free = ClaimFacts {
                carries_collection,
                ..at(status)
            };
            let pending = ClaimFacts {
                hold: HoldState::Pending {
                    reason: HoldReason::Inspection,
                    by: Seller,
                },
                ..free
            };
            for role in ROLES {
                let hold_actions = [A::HoldClaim, A::ApproveHold, A::DeclineHold];
                let strip = |actions: Vec<ClaimAction>| -> Vec<ClaimAction> {
                    actions
                        .into_iter()
                        .filter(|a| !hold_actions.contains(a))
                        .collect()
                };
                assert_eq!(
                    strip(available_actions(&free, role)),
                    strip(available_actions(&pending, role)),
                    "{status} {role:?}"
                );
            }
            assert_eq!(
                available_actions(&pending, Operator)
                    .into_iter()
                    .filter(|a| matches!(a, A::ApproveHold | A::DeclineHold))
                    .count(),
                2
            );
        }
    }
}

#[test]
fn placing_approving_declining_and_releasing_holds() {
    // OPERATOR: at once.
    let collected = at(S::ReturnCollected);
    let hold = decide(&collected, A::HoldClaim, Operator).unwrap();
    assert_eq!(hold.to, S::ReturnCollected);
    assert_eq!(
        hold.hold_after(HoldState::None, Some(HoldReason::Inspection), Operator),
        HoldState::Held {
            reason: HoldReason::Inspection,
            by: Operator
        }
    );
    // SELLER before collection: at once; after collection (or carrying one): pending.
    for (facts, expected) in [
        (at(S::ReturnRequested), HoldChange::Place),
        (at(S::ExchangeCollecting), HoldChange::Place),
        (at(S::CancelRequested), HoldChange::Place),
        (collected, HoldChange::PlacePending),
        (at(S::ExchangeReshipping), HoldChange::PlacePending),
        (carrying(S::ExchangeRequested), HoldChange::PlacePending),
    ] {
        assert_eq!(decide(&facts, A::HoldClaim, Seller).unwrap().hold, expected);
    }
    assert!(refused(collected, A::HoldClaim, Customer));
    // A second hold fails with CLAIM_ALREADY_HELD.
    for hold in HOLDS.into_iter().filter(HoldState::is_some) {
        let facts = ClaimFacts { hold, ..collected };
        let refusal = decide(&facts, A::HoldClaim, Operator).unwrap_err();
        assert_eq!(refusal.code(), "CLAIM_ALREADY_HELD", "{hold:?}");
    }
    // Pending: only an OPERATOR approves or declines.
    let pending = ClaimFacts {
        hold: HoldState::Pending {
            reason: HoldReason::DamagedByCustomer,
            by: Seller,
        },
        ..collected
    };
    assert!(refused(pending, A::ApproveHold, Seller));
    let approve = decide(&pending, A::ApproveHold, Operator).unwrap();
    let confirmed = approve.hold_after(pending.hold, None, Operator);
    assert_eq!(
        confirmed,
        HoldState::Held {
            reason: HoldReason::DamagedByCustomer,
            by: Seller
        }
    );
    assert_eq!(
        decide(&pending, A::DeclineHold, Operator).unwrap().hold,
        HoldChange::Clear
    );
    // Release: OPERATOR any (not fee) hold; SELLER only its own.
    let sellers = ClaimFacts {
        hold: confirmed,
        ..collected
    };
    assert_eq!(
        decide(&sellers, A::ReleaseHold, Seller).unwrap().hold,
        HoldChange::Clear
    );
    assert_eq!(
        decide(&sellers, A::ReleaseHold, Operator).unwrap().hold,
        HoldChange::Clear
    );
    let operators = held(collected, HoldReason::Inspection, Operator);
    assert!(refused(operators, A::ReleaseHold, Seller));
    assert!(refused(operators, A::ReleaseHold, Customer));
}

#[test]
fn the_fee_hold_is_lifted_only_by_paying_or_waiving() {
    let fee_held = ClaimFacts {
        hold: HoldState::FEE_UNPAID,
        ..at(S::ExchangeRequested)
    };
    for role in ROLES {
        assert!(refused(fee_held, A::ReleaseHold, role), "{role:?}");
    }
    for role in [Customer, Operator] {
        let paid = decide(&fee_held, A::PayClaimFee, role).unwrap();
        assert_eq!(
            (paid.to, paid.hold),
            (S::ExchangeRequested, HoldChange::Clear)
        );
    }
    for role in [Seller, Operator] {
        let waived = decide(&fee_held, A::WaiveClaimFee, role).unwrap();
        assert_eq!(
            (waived.to, waived.hold),
            (S::ExchangeRequested, HoldChange::Clear)
        );
    }
    assert!(refused(fee_held, A::PayClaimFee, Seller));
    assert!(refused(fee_held, A::WaiveClaimFee, Customer));
    // While it waits: no approval, but withdraw, reject and convert remain.
    assert!(refused(fee_held, A::Approve, Seller));
    assert_eq!(goes(fee_held, A::Withdraw, Customer), S::ExchangeWithdrawn);
    assert_eq!(goes(fee_held, A::Reject, Seller), S::ExchangeRejected);
    assert_eq!(
        goes(fee_held, A::ConvertToReturn, Customer),
        S::ExchangeConverted
    );
    // Nothing to pay without a fee hold.
    assert!(refused(at(S::ExchangeRequested), A::PayClaimFee, Customer));
}

#[test]
fn a_hold_ends_on_entering_reject_pending_refunding_awaiting_fee_or_terminal() {
    let hold = held(
        at(S::ReturnCollected),
        HoldReason::CustomerDispute,
        Operator,
    );
    let reject = decide(&hold, A::Reject, Seller).unwrap();
    assert_eq!(
        (reject.to, reject.hold),
        (S::ReturnRejectPending, HoldChange::Clear)
    );
    let pending_hold = ClaimFacts {
        hold: HoldState::Pending {
            reason: HoldReason::Inspection,
            by: Seller,
        },
        ..at(S::ReturnCollected)
    };
    for (settlement, status) in [
        (Settlement::InPlace, S::ReturnCompleted),
        (Settlement::Gateway, S::ReturnRefunding),
        (Settlement::FeeDue, S::ReturnAwaitingFee),
    ] {
        let complete = decide(
            &settled(pending_hold, settlement),
            A::CompleteReturn,
            Seller,
        )
        .unwrap();
        assert_eq!((complete.to, complete.hold), (status, HoldChange::Clear));
    }
    // Every transition into a hold-ending status clears the hold.
    for facts in core_facts().into_iter().filter(|f| f.hold.is_some()) {
        for action in claim_actions() {
            for role in ROLES {
                if let Ok(transition) = decide(&facts, action, role) {
                    if transition.to.ends_hold() {
                        assert_eq!(transition.hold, HoldChange::Clear);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rejection after collection, conversions
// ---------------------------------------------------------------------------------------------

#[test]
fn a_sellers_rejection_after_collection_needs_an_operator() {
    for (collected, pending, rejected) in [
        (
            S::ReturnCollected,
            S::ReturnRejectPending,
            S::ReturnRejected,
        ),
        (
            S::ExchangeCollected,
            S::ExchangeRejectPending,
            S::ExchangeRejected,
        ),
    ] {
        let seller = decide(&at(collected), A::Reject, Seller).unwrap();
        assert_eq!(seller.to, pending);
        assert!(
            !seller.effects.contains(&Effect::ReDeliver),
            "not before the approval"
        );
        let operator = decide(&at(collected), A::Reject, Operator).unwrap();
        assert_eq!(operator.to, rejected);
        assert!(operator.effects.contains(&Effect::ReDeliver));
        let waiting = ClaimFacts {
            rejected_from: Some(collected),
            ..at(pending)
        };
        assert_eq!(available_actions(&waiting, Seller), []);
        assert_eq!(available_actions(&waiting, Customer), []);
        assert_eq!(
            available_actions(&waiting, Operator),
            [A::ApproveRejection, A::DeclineRejection]
        );
        let approved = decide(&waiting, A::ApproveRejection, Operator).unwrap();
        assert!(approved.effects.contains(&Effect::ReDeliver));
    }
    // Before collection a rejection takes effect at once, whoever rejects.
    for status in [
        S::ReturnRequested,
        S::ReturnCollecting,
        S::ExchangeRequested,
    ] {
        assert!(goes(at(status), A::Reject, Seller).is_terminal());
    }
}

#[test]
fn converted_claims_carrying_a_collection_count_as_collected() {
    // A collected return converted into an exchange: the new exchange carries the collection.
    let conversion = decide(&at(S::ReturnCollected), A::ConvertToExchange, Seller).unwrap();
    let Some(Effect::OpenConverted(new)) = conversion
        .effects
        .iter()
        .find(|effect| matches!(effect, Effect::OpenConverted(_)))
    else {
        panic!("no converted claim");
    };
    assert_eq!(
        (new.status, new.carries_collection),
        (S::ExchangeRequested, true)
    );
    assert_eq!(new.hold.state(true), HoldState::FEE_UNPAID);
    assert_eq!(new.hold.state(false), HoldState::None);

    for (requested, collected, pending, convert) in [
        (
            S::ExchangeRequested,
            S::ExchangeCollected,
            S::ExchangeRejectPending,
            A::ConvertToReturn,
        ),
        (
            S::ReturnRequested,
            S::ReturnCollected,
            S::ReturnRejectPending,
            A::ConvertToExchange,
        ),
    ] {
        let claim = carrying(requested);
        assert!(claim.collected());
        assert_eq!(goes(claim, A::Approve, Seller), collected);
        assert!(refused(claim, A::Withdraw, Customer));
        assert!(refused(claim, convert, Customer));
        assert!(goes(claim, convert, Seller).is_terminal());
        assert_eq!(goes(claim, A::Reject, Seller), pending);
        let rejected = decide(&claim, A::Reject, Operator).unwrap();
        assert!(rejected.effects.contains(&Effect::ReDeliver));
        let waiting = ClaimFacts {
            rejected_from: Some(requested),
            ..carrying(pending)
        };
        assert_eq!(goes(waiting, A::DeclineRejection, Operator), requested);
        assert_eq!(
            decide(&claim, A::HoldClaim, Seller).unwrap().hold,
            HoldChange::PlacePending
        );
    }
    // Uncollected conversions do not carry one.
    let conversion = decide(&at(S::ExchangeCollecting), A::ConvertToReturn, Customer).unwrap();
    assert!(conversion.effects.iter().any(|effect| matches!(
        effect,
        Effect::OpenConverted(ConvertedClaim {
            status: S::ReturnRequested,
            carries_collection: false,
            ..
        })
    )));
}

// ---------------------------------------------------------------------------------------------
// Actors
// ---------------------------------------------------------------------------------------------

#[test]
fn each_action_is_open_to_exactly_the_actors_of_claims_md() {
    let expected: &[(ClaimAction, &[Role])] = &[
        (A::RequestCancel, &[Customer, Operator, System]),
        (A::SellerCancel, &[Seller, Operator]),
        (A::RequestReturn, &[Customer, Operator]),
        (A::RequestExchange, &[Customer, Operator]),
        (A::Approve, &[Seller, Operator]),
        (A::Reject, &[Seller, Operator]),
        (A::ApproveRejection, &[Operator]),
        (A::DeclineRejection, &[Operator]),
        (A::Withdraw, &[Customer]),
        (A::MarkCollected, &[Seller, Operator, System]),
        (A::HoldClaim, &[Seller, Operator]),
        (A::ApproveHold, &[Operator]),
        (A::DeclineHold, &[Operator]),
        (A::ReleaseHold, &[Seller, Operator]),
        (A::ReshipExchange, &[Seller, Operator]),
        (A::CompleteReturn, &[Seller, Operator]),
        (A::CompleteExchange, &[Seller, Operator, System]),
        (A::RefundExchange, &[Seller, Operator]),
        (A::ConvertToExchange, &[Customer, Seller, Operator]),
        (A::ConvertToReturn, &[Customer, Seller, Operator]),
        (A::PayClaimFee, &[Customer, Operator]),
        (A::WaiveClaimFee, &[Seller, Operator]),
        (A::RetryRefund, &[Operator]),
        (A::ResolveRefundManually, &[Operator]),
        (A::SetRefundAccount, &[Customer, Operator]),
        (A::RefundSucceeded, &[System]),
        (A::ShippedOverCancel, &[Seller]),
        (A::FeeUnpaidTimeout, &[System]),
    ];
    assert_eq!(expected.len(), ClaimAction::ALL.len());
    for (action, roles) in expected {
        let mut actual: Vec<Role> = Vec::new();
        let transitions = TRANSITIONS
            .iter()
            .filter(|r| r.action == *action)
            .map(|r| r.actors);
        let openings = OPENINGS
            .iter()
            .filter(|r| r.action == *action)
            .map(|r| r.actors);
        for actors in transitions.chain(openings) {
            for role in actors.roles() {
                if !actual.contains(&role) {
                    actual.push(role);
                }
            }
        }
        let mut expected_roles = roles.to_vec();
        expected_roles.sort_by_key(|role| role_code(*role));
        actual.sort_by_key(|role| role_code(*role));
        assert_eq!(actual, expected_roles, "{action}");
    }
}

#[test]
fn an_analyst_can_never_act() {
    for facts in all_facts() {
        for action in ClaimAction::ALL.iter().copied() {
            assert!(matching_row(&facts, action, Analyst).is_none());
        }
    }
    for facts in core_facts() {
        assert!(available_actions(&facts, Analyst).is_empty());
        for action in ClaimAction::ALL.iter().copied() {
            assert!(decide(&facts, action, Analyst).is_err());
        }
    }
    for line in LineStatus::ALL.iter().copied() {
        for reason in Reason::ALL.iter().copied() {
            let facts = OpeningFacts {
                line,
                reason,
                fault: reason.default_fault(),
                settlement: Settlement::InPlace,
                fee_above_zero: false,
            };
            for action in ClaimAction::ALL.iter().copied() {
                assert!(open(&facts, action, Analyst).is_err());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shape of the table
// ---------------------------------------------------------------------------------------------

#[test]
fn rows_never_overlap() {
    for facts in all_facts() {
        for action in claim_actions() {
            for role in ROLES {
                let matching = TRANSITIONS
                    .iter()
                    .filter(|row| row.permits(&facts, action, role))
                    .count();
                assert!(
                    matching <= 1,
                    "{matching} rows for {action} by {role:?} in {facts:?}"
                );
            }
        }
    }
    for line in LineStatus::ALL.iter().copied() {
        for reason in Reason::ALL.iter().copied() {
            for fault in Fault::ALL {
                let facts = OpeningFacts {
                    line,
                    reason,
                    fault,
                    settlement: Settlement::InPlace,
                    fee_above_zero: false,
                };
                for action in ClaimAction::ALL.iter().copied() {
                    for role in ROLES {
                        let matching = OPENINGS
                            .iter()
                            .filter(|row| row.permits(&facts, action, role))
                            .count();
                        assert!(matching <= 1);
                    }
                }
            }
        }
    }
}

#[test]
fn rows_are_well_formed() {
    for row in TRANSITIONS {
        assert_ne!(row.action.kind(), ActionKind::Opening, "{row:?}");
        assert!(row.from.statuses().next().is_some(), "{row:?}");
        for from in row.from.statuses() {
            // A row never leaves its claim type, and never leaves a terminal status.
            if let Target::To(to) = row.to {
                assert_eq!(to.claim_type(), from.claim_type(), "{row:?}");
                if from.is_terminal() {
                    assert_eq!(to, from, "{row:?}");
                }
            }
        }
        if row.hold != HoldChange::Keep {
            assert_eq!(
                row.from,
                StatusSet::Holdable,
                "hold changes only where holds live"
            );
        }
    }
    for row in OPENINGS {
        assert_eq!(row.action.kind(), ActionKind::Opening);
    }
}

/// Explores every claim reachable from the openings and records which rows fire.
#[test]
fn every_row_is_reachable_from_an_opening() {
    let mut seen_rows = vec![false; TRANSITIONS.len()];
    let mut seen_openings = vec![false; OPENINGS.len()];
    let mut queue: VecDeque<ClaimFacts> = VecDeque::new();
    let mut visited: HashSet<ClaimFacts> = HashSet::new();
    let mut enqueue = |facts: ClaimFacts, queue: &mut VecDeque<ClaimFacts>| {
        if visited.insert(facts) {
            queue.push_back(facts);
        }
    };

    for line in LineStatus::ALL.iter().copied() {
        for reason in Reason::ALL.iter().copied() {
            for fault in Fault::ALL {
                for settlement in Settlement::ALL {
                    for fee_above_zero in [false, true] {
                        let facts = OpeningFacts {
                            line,
                            reason,
                            fault,
                            settlement,
                            fee_above_zero,
                        };
                        for action in ClaimAction::ALL.iter().copied() {
                            for role in ROLES {
                                let Some(row) = matching_opening(&facts, action, role) else {
                                    continue;
                                };
                                let index =
                                    OPENINGS.iter().position(|r| std::ptr::eq(r, row)).unwrap();
                                seen_openings[index] = true;
                                if let Ok(opening) = open(&facts, action, role) {
                                    let claim = ClaimFacts {
                                        hold: opening.hold,
                                        ..at(opening.status)
                                    };
                                    enqueue(claim, &mut queue);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    while let Some(state) = queue.pop_front() {
        for bits in 0..8u8 {
            for settlement in Settlement::ALL {
                let facts = ClaimFacts {
                    refund: RefundFacts {
                        failed: bits & 1 != 0,
                        account_required: bits & 2 != 0,
                        pending: bits & 4 != 0,
                    },
                    settlement,
                    ..state
                };
                for action in claim_actions() {
                    for role in ROLES {
                        let Some(row) = matching_row(&facts, action, role) else {
                            continue;
                        };
                        let index = TRANSITIONS
                            .iter()
                            .position(|r| std::ptr::eq(r, row))
                            .unwrap();
                        seen_rows[index] = true;
                        let Ok(transition) = decide(&facts, action, role) else {
                            continue;
                        };
                        let next = ClaimFacts {
                            status: transition.to,
                            hold: transition.hold_after(
                                state.hold,
                                Some(HoldReason::Inspection),
                                role,
                            ),
                            rejected_from: if transition.to == state.status {
                                state.rejected_from
                            } else {
                                transition.to.is_reject_pending().then_some(state.status)
                            },
                            ..state
                        };
                        enqueue(next, &mut queue);
                        for effect in transition.effects {
                            if let Effect::OpenConverted(new) = effect {
                                for fee in [false, true] {
                                    let claim = ClaimFacts {
                                        carries_collection: new.carries_collection,
                                        hold: new.hold.state(fee),
                                        ..at(new.status)
                                    };
                                    enqueue(claim, &mut queue);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let unreached: Vec<&Row> = TRANSITIONS
        .iter()
        .zip(&seen_rows)
        .filter(|(_, seen)| !**seen)
        .map(|(row, _)| row)
        .collect();
    assert!(unreached.is_empty(), "unreachable rows: {unreached:#?}");
    assert!(seen_openings.iter().all(|seen| *seen));
}

// ---------------------------------------------------------------------------------------------
// Property test against an independent reference model
// ---------------------------------------------------------------------------------------------

/// The claim as the reference model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Model {
    status: ClaimStatus,
    hold: HoldState,
    carries: bool,
    rejected_from: Option<ClaimStatus>,
}

/// What the world says at one step.
#[derive(Debug, Clone, Copy)]
struct World {
    refund: RefundFacts,
    settlement: Settlement,
    placing: HoldReason,
    fee_above_zero: bool,
}

fn model_ends_hold(status: ClaimStatus) -> bool {
    matches!(
        status,
        S::CancelCompleted
            | S::CancelRejected
            | S::CancelWithdrawn
            | S::CancelRefunding
            | S::ReturnAwaitingFee
            | S::ReturnRefunding
            | S::ReturnCompleted
            | S::ReturnRejectPending
            | S::ReturnRejected
            | S::ReturnWithdrawn
            | S::ReturnConverted
            | S::ExchangeCompleted
            | S::ExchangeRejectPending
            | S::ExchangeRejected
            | S::ExchangeWithdrawn
            | S::ExchangeConverted
            | S::ExchangeRefunding
            | S::ExchangeRefunded
    )
}

/// claims.md written out as one hand-made match: the next claim (and the claim a conversion
/// opens), or `None` when the contract does not allow the action.
fn reference(m: &Model, a: ClaimAction, r: Role, w: &World) -> Option<(Model, Option<Model>)> {
    let st = m.status;
    let is_held = matches!(m.hold, HoldState::Held { .. });
    let fee_held = matches!(
        m.hold,
        HoldState::Held {
            reason: HoldReason::ReturnFeeUnpaid,
            ..
        }
    );
    let pending = matches!(m.hold, HoldState::Pending { .. });
    let collected = m.carries
        || matches!(
            st,
            S::ReturnCollected | S::ExchangeCollected | S::ExchangeReshipping
        );
    let holdable = matches!(
        st,
        S::CancelRequested
            | S::ReturnRequested
            | S::ReturnCollecting
            | S::ReturnCollected
            | S::ExchangeRequested
            | S::ExchangeCollecting
            | S::ExchangeCollected
            | S::ExchangeReshipping
    );
    // "While HELD ... still possible are ..."; SYSTEM facts apply even while held.
    let still_possible = matches!(
        a,
        A::ReleaseHold
            | A::PayClaimFee
            | A::WaiveClaimFee
            | A::Reject
            | A::ApproveRejection
            | A::DeclineRejection
            | A::ConvertToExchange
            | A::ConvertToReturn
            | A::RefundExchange
            | A::Withdraw
            | A::RetryRefund
            | A::ResolveRefundManually
            | A::SetRefundAccount
            | A::ShippedOverCancel
            | A::RefundSucceeded
            | A::FeeUnpaidTimeout
    );
    if is_held && r != System && !still_possible {
        return None;
    }
    let so = r == Seller || r == Operator;
    let p = w.refund;
    let outstanding = p.pending || p.account_required;
    let settle =
        |done: ClaimStatus, refunding: ClaimStatus, fee: Option<ClaimStatus>| match w.settlement {
            Settlement::InPlace => Some(done),
            Settlement::Gateway => Some(refunding),
            Settlement::FeeDue => fee,
        };

    // The contract lists what is allowed; everything else is refused.
    let next = match (st, a) {
        // Cancel
        (S::CancelRequested, A::Approve) if so => {
            settle(S::CancelCompleted, S::CancelRefunding, None)
        }
        (S::CancelRequested, A::Reject) if so => Some(S::CancelRejected),
        (S::CancelRequested, A::ShippedOverCancel) if r == Seller => Some(S::CancelRejected),
        (S::CancelRequested, A::Withdraw) if r == Customer => Some(S::CancelWithdrawn),
        // Refunding
        (S::CancelRefunding, A::RefundSucceeded) if r == System && !p.failed && !outstanding => {
            Some(S::CancelCompleted)
        }
        (S::ReturnRefunding, A::RefundSucceeded) if r == System && !p.failed && !outstanding => {
            Some(S::ReturnCompleted)
        }
        (S::ExchangeRefunding, A::RefundSucceeded) if r == System && !p.failed && !outstanding => {
            Some(S::ExchangeRefunded)
        }
        (S::CancelRefunding, A::ResolveRefundManually) if r == Operator && p.failed => {
            Some(if outstanding { st } else { S::CancelCompleted })
        }
        (S::ReturnRefunding, A::ResolveRefundManually) if r == Operator && p.failed => {
            Some(if outstanding { st } else { S::ReturnCompleted })
        }
        (S::ExchangeRefunding, A::ResolveRefundManually) if r == Operator && p.failed => {
            Some(if outstanding { st } else { S::ExchangeRefunded })
        }
        (_, A::ResolveRefundManually | A::RetryRefund) if r == Operator && p.failed => Some(st),
        (_, A::SetRefundAccount) if (r == Customer || r == Operator) && p.account_required => {
            Some(st)
        }
        // Return
        (S::ReturnRequested, A::Approve) if so => Some(if collected {
            S::ReturnCollected
        } else {
            S::ReturnCollecting
        }),
        (S::ReturnRequested | S::ReturnCollected, A::Reject) if collected && r == Operator => {
            Some(S::ReturnRejected)
        }
        (S::ReturnRequested | S::ReturnCollected, A::Reject) if collected && r == Seller => {
            Some(S::ReturnRejectPending)
        }
        (S::ReturnRequested | S::ReturnCollecting, A::Reject) if !collected && so => {
            Some(S::ReturnRejected)
        }
        (S::ReturnRequested | S::ReturnCollecting, A::Withdraw) if r == Customer && !collected => {
            Some(S::ReturnWithdrawn)
        }
        (S::ReturnCollecting, A::MarkCollected) if so || r == System => Some(S::ReturnCollected),
        (S::ReturnCollected, A::CompleteReturn) if so => settle(
            S::ReturnCompleted,
            S::ReturnRefunding,
            Some(S::ReturnAwaitingFee),
        ),
        (S::ReturnAwaitingFee, A::PayClaimFee) if r == Customer || r == Operator => {
            Some(S::ReturnCompleted)
        }
        (S::ReturnAwaitingFee, A::WaiveClaimFee) if so => Some(S::ReturnCompleted),
        (S::ReturnRejectPending, A::ApproveRejection) if r == Operator => Some(S::ReturnRejected),
        (S::ExchangeRejectPending, A::ApproveRejection) if r == Operator => {
            Some(S::ExchangeRejected)
        }
        (S::ReturnRejectPending | S::ExchangeRejectPending, A::DeclineRejection)
            if r == Operator =>
        {
            m.rejected_from
        }
        (S::ReturnRequested | S::ReturnCollecting | S::ReturnCollected, A::ConvertToExchange)
            if so || (r == Customer && !collected) =>
        {
            Some(S::ReturnConverted)
        }
        // Exchange
        (S::ExchangeRequested, A::Approve) if so => Some(if collected {
            S::ExchangeCollected
        } else {
            S::ExchangeCollecting
        }),
        (S::ExchangeRequested | S::ExchangeCollected, A::Reject) if collected && r == Operator => {
            Some(S::ExchangeRejected)
        }
        (S::ExchangeRequested | S::ExchangeCollected, A::Reject) if collected && r == Seller => {
            Some(S::ExchangeRejectPending)
        }
        (S::ExchangeRequested | S::ExchangeCollecting, A::Reject) if !collected && so => {
            Some(S::ExchangeRejected)
        }
        (S::ExchangeRequested | S::ExchangeCollecting, A::Withdraw)
            if r == Customer && !collected =>
        {
            Some(S::ExchangeWithdrawn)
        }
        (S::ExchangeRequested, A::FeeUnpaidTimeout) if r == System && fee_held => {
            Some(S::ExchangeWithdrawn)
        }
        (S::ExchangeCollecting, A::MarkCollected) if so || r == System => {
            Some(S::ExchangeCollected)
        }
        (S::ExchangeCollected | S::ExchangeReshipping, A::ReshipExchange) if so => {
            Some(S::ExchangeReshipping)
        }
        (S::ExchangeReshipping, A::CompleteExchange) if so || r == System => {
            Some(S::ExchangeCompleted)
        }
        (S::ExchangeCollected | S::ExchangeReshipping, A::RefundExchange) if so => {
            settle(S::ExchangeRefunded, S::ExchangeRefunding, None)
        }
        (
            S::ExchangeRequested | S::ExchangeCollecting | S::ExchangeCollected,
            A::ConvertToReturn,
        ) if so || (r == Customer && !collected) => Some(S::ExchangeConverted),
        // Hold
        (_, A::HoldClaim) if holdable && m.hold == HoldState::None && so => Some(st),
        (_, A::ApproveHold | A::DeclineHold) if holdable && pending && r == Operator => Some(st),
        (_, A::ReleaseHold)
            if holdable
                && is_held
                && !fee_held
                && (r == Operator || (r == Seller && m.hold.placed_by() == Some(Seller))) =>
        {
            Some(st)
        }
        (_, A::PayClaimFee) if fee_held && (r == Customer || r == Operator) => Some(st),
        (_, A::WaiveClaimFee) if fee_held && so => Some(st),
        // Not a row of claims.md: refused. (A reference model, not a status mapping.)
        _ => None,
    }?;

    let hold = if model_ends_hold(next) {
        HoldState::None
    } else {
        match (a, m.hold) {
            (A::HoldClaim, _) if r == Seller && collected => HoldState::Pending {
                reason: w.placing,
                by: r,
            },
            (A::HoldClaim, _) => HoldState::Held {
                reason: w.placing,
                by: r,
            },
            (A::ApproveHold, HoldState::Pending { reason, by }) => HoldState::Held { reason, by },
            (A::DeclineHold | A::ReleaseHold | A::PayClaimFee | A::WaiveClaimFee, _) => {
                HoldState::None
            }
            (_, hold) => hold,
        }
    };
    let converted = if next == S::ReturnConverted {
        Some(Model {
            status: S::ExchangeRequested,
            hold: if w.fee_above_zero {
                HoldState::FEE_UNPAID
            } else {
                HoldState::None
            },
            carries: collected,
            rejected_from: None,
        })
    } else if next == S::ExchangeConverted {
        Some(Model {
            status: S::ReturnRequested,
            hold: HoldState::None,
            carries: collected,
            rejected_from: None,
        })
    } else {
        None
    };
    // Entering a pending rejection remembers where from; staying keeps it (refund repairs).
    let rejected_from = if next == st {
        m.rejected_from
    } else if matches!(next, S::ReturnRejectPending | S::ExchangeRejectPending) {
        Some(st)
    } else {
        None
    };
    Some((
        Model {
            status: next,
            hold,
            carries: m.carries,
            rejected_from,
        },
        converted,
    ))
}

/// The reference for openings, also a hand-made match.
fn reference_open(
    line: LineStatus,
    a: ClaimAction,
    r: Role,
    reason: Reason,
    fault: Fault,
    settlement: Settlement,
) -> Option<ClaimStatus> {
    use LineStatus as L;
    let cancel = match settlement {
        Settlement::InPlace => Some(S::CancelCompleted),
        Settlement::Gateway => Some(S::CancelRefunding),
        Settlement::FeeDue => None,
    };
    let customer_or_operator = r == Customer || r == Operator;
    if a != A::SellerCancel && reason == Reason::OutOfStock {
        return None;
    }
    match (line, a) {
        (L::AwaitingPayment, A::RequestCancel) if customer_or_operator || r == System => {
            Some(S::CancelCompleted)
        }
        (L::Paid, A::RequestCancel) if customer_or_operator => cancel,
        (L::Paid | L::Preparing, A::SellerCancel)
            if (r == Seller || r == Operator) && reason == Reason::OutOfStock =>
        {
            cancel
        }
        (L::Preparing, A::RequestCancel) if r == Customer => Some(S::CancelRequested),
        (L::Preparing, A::RequestCancel) if r == Operator => cancel,
        (L::Delivered, A::RequestReturn) if customer_or_operator => Some(S::ReturnRequested),
        (L::Shipped | L::PurchaseConfirmed, A::RequestReturn)
            if customer_or_operator && fault == Fault::Seller =>
        {
            Some(S::ReturnRequested)
        }
        (L::Delivered, A::RequestExchange) if customer_or_operator => Some(S::ExchangeRequested),
        (L::PurchaseConfirmed, A::RequestExchange)
            if customer_or_operator && fault == Fault::Seller =>
        {
            Some(S::ExchangeRequested)
        }
        _ => None,
    }
}

#[test]
fn openings_agree_with_the_reference() {
    for line in LineStatus::ALL.iter().copied() {
        for reason in Reason::ALL.iter().copied() {
            for fault in Fault::ALL {
                for settlement in Settlement::ALL {
                    let facts = OpeningFacts {
                        line,
                        reason,
                        fault,
                        settlement,
                        fee_above_zero: true,
                    };
                    for action in ClaimAction::ALL.iter().copied() {
                        for role in ROLES {
                            let ours = open(&facts, action, role);
                            let theirs =
                                reference_open(line, action, role, reason, fault, settlement);
                            let agree = match (&ours, theirs) {
                                (Ok(opening), Some(status)) => opening.status == status,
                                (Err(_), None) => true,
                                (Ok(_), None) | (Err(_), Some(_)) => false,
                            };
                            let context = (line, action, role, reason, fault, settlement);
                            assert!(agree, "{context:?}: {ours:?} vs {theirs:?}");
                        }
                    }
                }
            }
        }
    }
}

/// Every opening the reference allows, as a claim to start a random walk from.
fn starts() -> Vec<Model> {
    let mut out = Vec::new();
    for line in LineStatus::ALL.iter().copied() {
        for reason in [Reason::ChangeOfMind, Reason::Defective, Reason::OutOfStock] {
            for action in ClaimAction::ALL.iter().copied() {
                for role in ROLES {
                    for fee in [false, true] {
                        let fault = reason.default_fault();
                        if let Some(status) =
                            reference_open(line, action, role, reason, fault, Settlement::InPlace)
                        {
                            let hold = if fee && status == S::ExchangeRequested {
                                HoldState::FEE_UNPAID
                            } else {
                                HoldState::None
                            };
                            let model = Model {
                                status,
                                hold,
                                carries: false,
                                rejected_from: None,
                            };
                            if !out.contains(&model) {
                                out.push(model);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn facts_of(m: &Model, w: &World) -> ClaimFacts {
    ClaimFacts {
        status: m.status,
        hold: m.hold,
        carries_collection: m.carries,
        rejected_from: m.rejected_from,
        refund: w.refund,
        settlement: w.settlement,
    }
}

/// One random step: how to pick the action, and what the world says.
#[derive(Debug, Clone)]
struct Step {
    from_available: bool,
    pick: usize,
    action: usize,
    role: usize,
    placing: usize,
    refund_bits: u8,
    settlement: usize,
    fee_above_zero: bool,
    follow_conversion: bool,
}

fn step_strategy() -> impl Strategy<Value = Step> {
    (
        any::<bool>(),
        any::<usize>(),
        0..ClaimAction::ALL.len(),
        0..ROLES.len(),
        0..HoldReason::MANUAL.len(),
        0..8u8,
        0..3usize,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                from_available,
                pick,
                action,
                role,
                placing,
                refund_bits,
                settlement,
                fee,
                follow,
            )| {
                Step {
                    from_available,
                    pick,
                    action,
                    role,
                    placing,
                    // Mostly no refund trouble, so completing paths stay open.
                    refund_bits: if refund_bits >= 5 { 0 } else { refund_bits },
                    settlement,
                    fee_above_zero: fee,
                    follow_conversion: follow,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random walks through `decide` agree with the reference on whether each action is
    /// allowed, the next status and the hold; `available_actions` is exactly what succeeds.
    #[test]
    fn decide_agrees_with_the_reference_model(
        start in 0..1000usize,
        steps in proptest::collection::vec(step_strategy(), 1..48),
    ) {
        let starts = starts();
        let mut model = starts[start % starts.len()];
        for (n, step) in steps.iter().enumerate() {
            let settlement = match (model.status.claim_type(), step.settlement) {
                (ClaimType::Return, 0) | (ClaimType::Cancel | ClaimType::Exchange, 0 | 2) => {
                    Settlement::InPlace
                }
                (ClaimType::Return, 1) | (ClaimType::Cancel | ClaimType::Exchange, _) => {
                    Settlement::Gateway
                }
                (ClaimType::Return, _) => Settlement::FeeDue,
            };
            let world = World {
                refund: RefundFacts {
                    failed: step.refund_bits & 1 != 0,
                    account_required: step.refund_bits & 2 != 0,
                    pending: step.refund_bits & 4 != 0,
                },
                settlement,
                placing: HoldReason::MANUAL[step.placing],
                fee_above_zero: step.fee_above_zero,
            };
            let facts = facts_of(&model, &world);

            // available_actions is exactly the set of actions decide allows, for every role.
            let mut union: Vec<(ClaimAction, Role)> = Vec::new();
            for role in ROLES {
                let available = available_actions(&facts, role);
                let succeeding: Vec<ClaimAction> = claim_actions()
                    .filter(|action| decide(&facts, *action, role).is_ok())
                    .collect();
                prop_assert_eq!(&available, &succeeding);
                union.extend(available.into_iter().map(|action| (action, role)));
            }

            let (action, role) = if step.from_available && !union.is_empty() {
                union[step.pick % union.len()]
            } else {
                (ClaimAction::ALL[step.action], ROLES[step.role])
            };
            let ours = decide(&facts, action, role);
            let theirs = reference(&model, action, role, &world);
            match (ours, theirs) {
                (Ok(transition), Some((next, converted))) => {
                    prop_assert_eq!(transition.to, next.status, "step {} {:?}", n, (action, role));
                    let hold = transition.hold_after(model.hold, Some(world.placing), role);
                    prop_assert_eq!(hold, next.hold, "hold at step {}", n);
                    let opened = transition.effects.iter().find_map(|effect| match effect {
                        Effect::OpenConverted(new) => Some(Model {
                            status: new.status,
                            hold: new.hold.state(world.fee_above_zero),
                            carries: new.carries_collection,
                            rejected_from: None,
                        }),
                        _ => None,
                    });
                    prop_assert_eq!(opened, converted);
                    model = match converted {
                        Some(new) if step.follow_conversion => new,
                        Some(_) | None => next,
                    };
                }
                (Err(refusal), None) => {
                    prop_assert_ne!(refusal.code(), "CLAIM_FACTS_INCONSISTENT");
                    prop_assert_eq!(refusal.status(), model.status);
                }
                (ours, theirs) => {
                    prop_assert!(false, "step {}: {:?} by {:?} in {:?}: ours {:?}, reference {:?}",
                        n, action, role, model, ours, theirs);
                }
            }
            // Start again from an opening once nothing but refund repairs can happen.
            if model.status.is_terminal() {
                model = starts[(start + n) % starts.len()];
            }
        }
    }
}

#[test]
fn a_refund_stands_where_its_most_urgent_cash_part_stands() {
    use super::{RefundFacts, RefundState, RefundStatus};
    let facts = |failed, account_required, pending| RefundFacts {
        failed,
        account_required,
        pending,
    };
    assert_eq!(
        facts(false, false, false).state(false),
        RefundState::Succeeded
    );
    assert_eq!(facts(false, false, true).state(false), RefundState::Pending);
    assert_eq!(
        facts(false, true, true).state(false),
        RefundState::AccountRequired
    );
    assert_eq!(facts(true, true, true).state(false), RefundState::Failed);
    assert_eq!(RefundStatus::AccountRequired.as_str(), "ACCOUNT_REQUIRED");
}

#[test]
fn a_refund_owing_a_fee_has_paid_nothing() {
    use super::{RefundFacts, RefundState};
    // A return awaiting its fee has no cash part at all: it must not read as paid.
    assert_eq!(RefundFacts::default().state(true), RefundState::AwaitingFee);
}

// ---------------------------------------------------------------------------------------------
// What the engine reads from a row before it decides
// ---------------------------------------------------------------------------------------------

/// Exactly the completing rows price the refund: how it settles picks their status.
#[test]
fn a_row_prices_exactly_when_its_target_depends_on_the_settlement() {
    for row in TRANSITIONS {
        assert_eq!(
            row.prices(),
            matches!(row.to, Target::Complete(_)),
            "{row:?}"
        );
    }
    for row in OPENINGS {
        if matches!(row.to, OpeningTarget::Complete(_)) {
            assert!(row.prices(), "{row:?}");
        }
    }
}

/// Every opening row of an action opens the same claim type, with the fault decided the same
/// way, so `opening_kind` may read the first.
#[test]
fn the_opening_rows_of_an_action_agree_on_type_and_fault() {
    for row in OPENINGS {
        let kind = opening_kind(row.action).unwrap();
        assert_eq!(kind.claim_type, row.claim_type(), "{row:?}");
        assert_eq!(kind.fixed_fault, row.fault.fixed(), "{row:?}");
    }
    assert_eq!(opening_kind(A::Approve), None);
    assert_eq!(
        opening_kind(A::SellerCancel).and_then(|kind| kind.fixed_fault),
        Some(Fault::Seller)
    );
    assert_eq!(
        opening_kind(A::RequestReturn).map(|kind| (kind.claim_type, kind.fixed_fault)),
        Some((ClaimType::Return, None))
    );
}

/// Only an out-of-stock approval of a cancel request and `refundExchange` move the fault to
/// the seller, each with its cause for the timeline.
#[test]
fn out_of_stock_moves_the_fault_only_on_a_cancel_approval() {
    let cancel = plan(&at(S::CancelRequested), A::Approve, Seller).unwrap();
    assert_eq!(cancel.fault_after(Fault::Customer, true), Fault::Seller);
    assert_eq!(cancel.fault_after(Fault::Customer, false), Fault::Customer);
    assert_eq!(
        cancel.fault_change(Fault::Customer, true),
        Some(FaultChange {
            from: Fault::Customer,
            to: Fault::Seller,
            because: ChangeCause::OutOfStock
        })
    );
    assert_eq!(cancel.fault_change(Fault::Customer, false), None);
    let ret = plan(&at(S::ReturnRequested), A::Approve, Seller).unwrap();
    assert_eq!(ret.fault_after(Fault::Customer, true), Fault::Customer);
    assert_eq!(ret.fault_change(Fault::Customer, true), None);
    for from in [S::ExchangeCollected, S::ExchangeReshipping] {
        let refund = plan(&at(from), A::RefundExchange, Seller).unwrap();
        assert_eq!(
            refund.fault_change(Fault::Customer, false),
            Some(FaultChange {
                from: Fault::Customer,
                to: Fault::Seller,
                because: ChangeCause::ReplacementUndeliverable
            })
        );
        // Already the seller's: nothing moves, nothing to explain.
        assert_eq!(refund.fault_change(Fault::Seller, false), None);
    }
}

/// Units go back to their line when a claim ends without a refund closing them.
#[test]
fn units_return_to_the_line_only_when_the_claim_ends_unpriced() {
    let withdrawn = decide(&at(S::ReturnRequested), A::Withdraw, Customer).unwrap();
    assert!(withdrawn.releases_units(S::ReturnRequested));
    let approved = decide(&at(S::ReturnRequested), A::Approve, Seller).unwrap();
    assert!(!approved.releases_units(S::ReturnRequested));
    let converted = decide(&at(S::ReturnRequested), A::ConvertToExchange, Customer).unwrap();
    assert!(!converted.releases_units(S::ReturnRequested));
    let completed = decide(
        &ClaimFacts {
            settlement: Settlement::Gateway,
            ..at(S::ReturnCollected)
        },
        A::CompleteReturn,
        Seller,
    )
    .unwrap();
    assert!(!completed.releases_units(S::ReturnCollected));
    let refunded = decide(&at(S::ReturnRefunding), A::RefundSucceeded, System).unwrap();
    assert!(!refunded.releases_units(S::ReturnRefunding));
    let exchanged = decide(&at(S::ExchangeReshipping), A::CompleteExchange, Seller).unwrap();
    assert!(exchanged.releases_units(S::ExchangeReshipping));
}

/// A reason no row of an opening accepts is refused before anything else is decided: a return
/// or exchange is never asked as OUT_OF_STOCK, the seller's cancel is only that.
#[test]
fn an_opening_refuses_a_reason_none_of_its_rows_accepts() {
    for action in [A::RequestReturn, A::RequestExchange] {
        let refused = check_reason(action, Reason::OutOfStock).unwrap_err();
        assert_eq!(refused.code(), "CLAIM_NOT_ALLOWED");
        assert_eq!(
            refused.to_string(),
            format!(
                "CLAIM_NOT_ALLOWED: {} cannot be asked with the reason OUT_OF_STOCK",
                action.mutation_name()
            )
        );
        assert_eq!(check_reason(action, Reason::Defective), Ok(()));
    }
    assert_eq!(check_reason(A::SellerCancel, Reason::OutOfStock), Ok(()));
}

//! "Sets are exchanged whole, bulky goods pay double" (세트 전체 교환, 대형 상품 배송비 2배):
//! a furniture and appliance seller whose sets are packed and priced as one, and whose bulky
//! goods need a two-person freight pickup.
//!
//! - `exchange_rules`: a set is exchanged whole, always — even when the seller is at fault,
//!   which the default exempts — because the seller can only reship a set as a set. A
//!   partial set is refused with `BUNDLE_MUST_BE_WHOLE` and the lines that must be added.
//! - `claim_fees`: when any claimed item is bulky, the return fee is twice the seller's
//!   configured one, and a customer-fault exchange costs the round trip at that rate
//!   (2 × the doubled fee). Fault, the initial-shipping charge and the coupon clawback stay
//!   as the default decides them, and so does everything for claims without bulky items.
//!
//! The module exports both hooks: a module is uploaded for one hook, so the seller uploads this
//! same .wasm twice, once for `claim_fees` and once for `exchange_rules`. `claim_window` stays
//! the default.

use oms_policy_sdk::{
    defaults, export_policy, ClaimFeesInput, ClaimType, ExchangeRulesInput, ExchangeVerdict, Fault,
    FeeDecision,
};

/// The refusal's stable code, the same the default uses, so clients handle both alike.
const BUNDLE_MUST_BE_WHOLE: &str = "BUNDLE_MUST_BE_WHOLE";
/// Why, for the customer.
const BUNDLE_MESSAGE: &str = "세트 상품은 세트 전체로만 교환할 수 있습니다";
/// Told to the customer whenever the bulky rate applies.
const BULKY_MESSAGE: &str = "대형 상품은 반품·교환 배송비가 두 배입니다";

/// The default, at twice the return fee when a bulky item is claimed.
fn decide_fees(input: ClaimFeesInput) -> FeeDecision {
    if !input.items.iter().any(|item| item.bulky) {
        return defaults::claim_fees(input);
    }
    let claim_type = input.claim_type;
    let decision = defaults::claim_fees(input);
    let return_fee = decision.return_fee.saturating_mul(2);
    // The round trip of a customer-fault exchange, at the bulky rate; the seller's faults stay
    // free for the customer, as by default.
    let exchange_fee = match (claim_type, decision.fault) {
        (ClaimType::Exchange, Fault::Customer) => return_fee.saturating_mul(2),
        _ => 0,
    };
    FeeDecision {
        return_fee,
        exchange_fee,
        message: Some(BULKY_MESSAGE.to_owned()),
        ..decision
    }
}

/// Every unit of every line of each set the exchange touches must be in it, whoever is at
/// fault. Lines to add are listed in the order's line order.
fn decide_exchange(input: ExchangeRulesInput) -> ExchangeVerdict {
    let touched = |bundle: &String| {
        input
            .items
            .iter()
            .any(|exchanged| exchanged.item.bundle_id.as_ref() == Some(bundle))
    };
    let claimed = |line_id: i64| -> u32 {
        input
            .items
            .iter()
            .filter(|exchanged| exchanged.item.line_id == line_id)
            .map(|exchanged| exchanged.item.quantity)
            .sum()
    };
    let missing: Vec<i64> = input
        .order_lines
        .iter()
        .filter(|line| line.bundle_id.as_ref().is_some_and(touched))
        .filter(|line| claimed(line.line_id) < line.active_quantity)
        .map(|line| line.line_id)
        .collect();
    if missing.is_empty() {
        return ExchangeVerdict::allow();
    }
    oms_policy_sdk::log("a set is exchanged whole: refused a partial set");
    ExchangeVerdict {
        allowed: false,
        code: Some(BUNDLE_MUST_BE_WHOLE.to_owned()),
        message: Some(BUNDLE_MESSAGE.to_owned()),
        required_line_ids: missing,
    }
}

// The exports are named after the hooks, so the policy functions need other names.
export_policy!(claim_fees => decide_fees, exchange_rules => decide_exchange);

#[cfg(test)]
mod tests {
    use super::*;
    use oms_policy_sdk::testing;

    fn path(name: &str) -> String {
        format!("{}/tests/inputs/{name}.json", env!("CARGO_MANIFEST_DIR"))
    }

    fn fees(name: &str) -> FeeDecision {
        testing::run_file(path(name), decide_fees)
    }

    fn exchange(name: &str) -> ExchangeVerdict {
        testing::run_file(path(name), decide_exchange)
    }

    #[test]
    fn a_bulky_return_pays_double() {
        let out = fees("bulky-return");
        assert_eq!(out.fault, Fault::Customer);
        assert_eq!((out.return_fee, out.exchange_fee), (10_000, 0));
        assert!(out.initial_shipping && out.coupon_clawback);
        assert_eq!(out.message.as_deref(), Some(BULKY_MESSAGE));
    }

    #[test]
    fn a_customer_fault_bulky_exchange_pays_the_round_trip_at_double_rate() {
        let out = fees("bulky-exchange");
        assert_eq!(out.fault, Fault::Customer);
        assert_eq!((out.return_fee, out.exchange_fee), (10_000, 20_000));
    }

    #[test]
    fn a_defective_bulky_exchange_stays_free_for_the_customer() {
        let out = fees("bulky-defective-exchange");
        assert_eq!(out.fault, Fault::Seller);
        assert_eq!(out.exchange_fee, 0);
    }

    #[test]
    fn without_bulky_items_the_fees_are_the_default() {
        let text = std::fs::read_to_string(path("plain-exchange")).unwrap();
        let out = testing::run_json(&text, decide_fees);
        assert_eq!(out, testing::run_json(&text, defaults::claim_fees));
        assert_eq!((out.return_fee, out.exchange_fee), (2500, 5000));
    }

    #[test]
    fn a_partial_set_is_refused_even_when_the_seller_is_at_fault() {
        let out = exchange("partial-set-seller-fault");
        assert!(!out.allowed);
        assert_eq!(out.code.as_deref(), Some(BUNDLE_MUST_BE_WHOLE));
        assert_eq!(out.message.as_deref(), Some(BUNDLE_MESSAGE));
        assert_eq!(out.required_line_ids, vec![12, 13]);
        // The default would have let it through.
        let text = std::fs::read_to_string(path("partial-set-seller-fault")).unwrap();
        assert!(testing::run_json(&text, defaults::exchange_rules).allowed);
    }

    #[test]
    fn a_whole_set_and_a_line_outside_any_set_are_allowed() {
        assert_eq!(exchange("whole-set"), ExchangeVerdict::allow());
    }
}

//! The claim engine against a small reference model: random sequences of actions by random
//! roles on one delivered line, through the real API on SQLite. After every step the claim's
//! status matches the model, a refusal changes nothing, the line's quantities add up, units in
//! open claims are counted once, and the timeline has one event per version.

use oms::domain::actor::Role;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::builders::{OrderBuilder, ShopBuilder};
use crate::harness::{Backend, TestApp};

#[derive(Debug, Clone, Copy)]
enum Act {
    Request(u8),
    Approve,
    Reject,
    Withdraw,
    Collect,
    Complete,
    Hold,
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Customer,
    Seller,
    Operator,
    Analyst,
}

/// The model's view of the latest claim.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    status: Option<&'static str>,
    held: bool,
    pending_hold: bool,
    /// The hold (pending or in force) was placed by the seller: it may release it.
    seller_hold: bool,
    qty: i64,
    claimed: i64,
    returned: i64,
}

const ORDERED: i64 = 5;

/// The model's answer: the next status, or `None` when the action is refused.
fn step(m: &Model, act: Act, who: Who) -> Option<Model> {
    let mut n = m.clone();
    let staff = matches!(who, Who::Seller | Who::Operator);
    let blocked = m.held; // status actions wait while held (reject and withdraw don't)
    let release = |n: &mut Model| {
        n.claimed -= n.qty;
        n.held = false;
        n.pending_hold = false;
        n.seller_hold = false;
    };
    match (act, m.status) {
        (_, _) if who == Who::Analyst => return None,
        // Another claim may take units no open claim holds; the model follows the newest.
        (Act::Request(q), _) => {
            let q = i64::from(q);
            if !matches!(who, Who::Customer | Who::Operator) || q > ORDERED - m.returned - m.claimed
            {
                return None;
            }
            n = Model {
                status: Some("RETURN_REQUESTED"),
                held: false,
                pending_hold: false,
                seller_hold: false,
                qty: q,
                claimed: m.claimed + q,
                returned: m.returned,
            };
        }
        (Act::Approve, Some("RETURN_REQUESTED")) if staff && !blocked => {
            n.status = Some("RETURN_COLLECTING")
        }
        (Act::Collect, Some("RETURN_COLLECTING")) if staff && !blocked => {
            n.status = Some("RETURN_COLLECTED")
        }
        (Act::Complete, Some("RETURN_COLLECTED")) if staff && !blocked => {
            n.status = Some("CLOSED");
            n.claimed -= m.qty;
            n.returned += m.qty;
            n.held = false;
            n.pending_hold = false;
            n.seller_hold = false;
        }
        (Act::Reject, Some("RETURN_REQUESTED" | "RETURN_COLLECTING")) if staff => {
            n.status = Some("RETURN_REJECTED");
            release(&mut n);
        }
        (Act::Reject, Some("RETURN_COLLECTED")) if who == Who::Operator => {
            n.status = Some("RETURN_REJECTED");
            release(&mut n);
        }
        (Act::Reject, Some("RETURN_COLLECTED")) if who == Who::Seller => {
            n.status = Some("RETURN_REJECT_PENDING");
            n.held = false;
            n.pending_hold = false;
            n.seller_hold = false;
        }
        (Act::Withdraw, Some("RETURN_REQUESTED" | "RETURN_COLLECTING")) if who == Who::Customer => {
            n.status = Some("RETURN_WITHDRAWN");
            release(&mut n);
        }
        (Act::Hold, Some("RETURN_REQUESTED" | "RETURN_COLLECTING" | "RETURN_COLLECTED"))
            if staff && !m.held && !m.pending_hold =>
        {
            if who == Who::Seller && m.status == Some("RETURN_COLLECTED") {
                n.pending_hold = true;
            } else {
                n.held = true;
            }
            n.seller_hold = who == Who::Seller;
        }
        (Act::Release, Some(_))
            if m.held && (who == Who::Operator || (who == Who::Seller && m.seller_hold)) =>
        {
            n.held = false;
            n.seller_hold = false;
        }
        _ => return None,
    }
    Some(n)
}

fn mutation(act: Act) -> &'static str {
    match act {
        Act::Request(_) => "requestReturn",
        Act::Approve => "approveClaim",
        Act::Reject => "rejectClaim",
        Act::Withdraw => "withdrawClaim",
        Act::Collect => "markCollected",
        Act::Complete => "completeReturn",
        Act::Hold => "holdClaim",
        Act::Release => "releaseHold",
    }
}

fn acts() -> impl Strategy<Value = Vec<(Act, Who)>> {
    let act = prop_oneof![
        (1u8..4).prop_map(Act::Request),
        Just(Act::Approve),
        Just(Act::Reject),
        Just(Act::Withdraw),
        Just(Act::Collect),
        Just(Act::Complete),
        Just(Act::Hold),
        Just(Act::Release),
    ];
    let who = prop_oneof![
        Just(Who::Customer),
        Just(Who::Seller),
        Just(Who::Operator),
        Just(Who::Analyst)
    ];
    proptest::collection::vec((act, who), 1..14)
}

async fn run(steps: Vec<(Act, Who)>) {
    let t = TestApp::new(Backend::Sqlite).await.unwrap();
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let tokens = [
        (Who::Customer, shop.customer().token.clone()),
        (Who::Seller, shop.seller.token.clone()),
        (Who::Operator, shop.operator.clone()),
        (Who::Analyst, t.token(Role::Analyst, "a")),
    ];
    let token = |w: Who| {
        tokens
            .iter()
            .find(|(x, _)| *x == w)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(ORDERED)
        .delivered(&t)
        .await
        .number_and_line();

    let mut model = Model {
        status: None,
        held: false,
        pending_hold: false,
        seller_hold: false,
        qty: 0,
        claimed: 0,
        returned: 0,
    };
    let mut claim = Value::Null;
    let mut version = 0;
    for (act, who) in steps {
        let input = match act {
            Act::Request(q) => {
                json!({"orderNumber": number, "items": [{"lineId": line, "quantity": q}], "reason": "DEFECTIVE"})
            }
            Act::Hold => json!({"claimNumber": claim, "reason": "INSPECTION"}),
            Act::Collect => json!({"claimNumber": claim, "courier": "CJ", "trackingNumber": "T"}),
            _ => json!({"claimNumber": claim}),
        };
        if claim.is_null() && !matches!(act, Act::Request(_)) {
            continue;
        }
        let expected = step(&model, act, who);
        let doc_input = json!({"input": input});
        let (_, body) = t.post(Some(&token(who)), &format!("mutation($input: {}!) {{ {}(input: $input) {{ claim {{ claimNumber status version hold {{ phase }} timeline {{ version }} }} orderLines {{ quantity activeQuantity returnedQuantity cancelledQuantity claimedQuantity }} userErrors {{ code }} }} }}", input_type(act), mutation(act)), doc_input).await;
        let payload = &body["data"][mutation(act)];
        match &expected {
            None => {
                assert!(
                    body.get("errors").is_some()
                        || payload["userErrors"]
                            .as_array()
                            .is_some_and(|e| !e.is_empty()),
                    "{act:?} by {who:?} in {model:?} should be refused: {body}"
                );
                if !claim.is_null() {
                    let d = t
                        .gql(
                            &token(Who::Operator),
                            "query($n: String!) { claim(claimNumber: $n) { version } }",
                            json!({"n": claim}),
                        )
                        .await;
                    assert_eq!(
                        d["claim"]["version"], version,
                        "a refusal changed the claim"
                    );
                }
            }
            Some(next) => {
                assert_eq!(
                    payload["userErrors"],
                    json!([]),
                    "{act:?} by {who:?} in {model:?}: {body}"
                );
                let got = &payload["claim"];
                let status = got["status"].as_str().unwrap();
                if next.status == Some("CLOSED") {
                    assert!(
                        matches!(
                            status,
                            "RETURN_COMPLETED" | "RETURN_REFUNDING" | "RETURN_AWAITING_FEE"
                        ),
                        "{status}"
                    );
                } else {
                    assert_eq!(
                        Some(status),
                        next.status,
                        "{act:?} by {who:?} from {model:?}"
                    );
                }
                let phase = got["hold"]["phase"].as_str();
                assert_eq!(phase == Some("HELD"), next.held, "{body}");
                assert_eq!(phase == Some("HOLD_PENDING"), next.pending_hold, "{body}");
                claim = got["claimNumber"].clone();
                version = got["version"].as_i64().unwrap();
                let events = got["timeline"].as_array().unwrap();
                assert_eq!(events.len() as i64, version, "one event per transition");
                let l = &payload["orderLines"][0];
                let sum = l["activeQuantity"].as_i64().unwrap()
                    + l["returnedQuantity"].as_i64().unwrap()
                    + l["cancelledQuantity"].as_i64().unwrap();
                assert_eq!(sum, l["quantity"].as_i64().unwrap(), "quantities add up");
                assert_eq!(l["claimedQuantity"].as_i64().unwrap(), next.claimed);
                assert_eq!(l["returnedQuantity"].as_i64().unwrap(), next.returned);
                model = next.clone();
            }
        }
    }
}

fn input_type(act: Act) -> &'static str {
    match act {
        Act::Request(_) => "RequestReturnInput",
        Act::Approve => "ApproveClaimInput",
        Act::Reject | Act::Collect => "CourierInput",
        Act::Complete => "CompleteReturnInput",
        Act::Hold => "HoldClaimInput",
        Act::Withdraw | Act::Release => "ClaimActionInput",
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn engine_follows_the_model(steps in acts()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(steps));
    }
}

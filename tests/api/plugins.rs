//! Seller policy plugins with real `.wasm` modules: the default-policy example against the
//! native default (proptest), hostile modules refused at upload or contained at evaluation,
//! the lifecycle end to end through the API (upload, dry run, activate, a claim decided by the
//! plugin, deactivate, rollback, another replica), the circuit breaker, and tenancy.

use std::sync::Arc;

use oms::domain::actor::Role;
use oms::domain::policy::{defaults, PolicyHook};
use oms::plugin::{FailureReason, PluginHost, PluginLimits};
use oms_policy_sdk::*;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::builders::{
    activate_plugin, ClaimBuilder, OrderBuilder, PluginBuilder, ShopBuilder, UPLOAD,
};
use crate::claims::claim_call;
use crate::harness::{gid, plugin_host, Backend, TestApp};
use crate::on_both;
use crate::wasm::{example, flat_fee, wat};

// ---------------------------------------------------------------------------------------------
// Parity: the default-policy plugin decides exactly as the native default.

fn reason() -> impl Strategy<Value = Reason> {
    prop::sample::select(Reason::ALL.to_vec())
}

fn fault() -> impl Strategy<Value = Fault> {
    prop::sample::select(Fault::ALL.to_vec())
}

fn time() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(1_700_000_000i64..1_800_000_000)
}

fn bundle() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec![
        "SET-A".to_owned(),
        "SET-B".to_owned(),
    ]))
}

fn item(line_id: i64) -> impl Strategy<Value = Item> {
    (1i64..1000, 0i64..200_000, 1u32..4, any::<bool>(), bundle()).prop_map(
        move |(product, price, quantity, bulky, bundle_id)| Item {
            line_id,
            product_id: product,
            option_id: product * 10,
            unit_price: price,
            quantity,
            bulky,
            bundle_id,
        },
    )
}

fn earlier() -> impl Strategy<Value = Vec<EarlierClaim>> {
    prop::collection::vec(
        (
            1i64..6,
            prop::sample::select(ClaimType::ALL.to_vec()),
            reason(),
            fault(),
            1u32..3,
        )
            .prop_map(
                |(line_id, claim_type, reason, fault, quantity)| EarlierClaim {
                    line_id,
                    claim_type,
                    reason,
                    fault,
                    quantity,
                },
            ),
        0..3,
    )
}

fn fees_input() -> impl Strategy<Value = ClaimFeesInput> {
    (
        prop::sample::select(vec![ClaimType::Return, ClaimType::Exchange]),
        reason(),
        prop::sample::select(CollectionMethod::ALL.to_vec()),
        (0i64..5000, 0i64..100_000, 0i64..5000, 0i64..10_000),
        time(),
        1_700_000_000i64..1_800_000_000,
        prop::option::of("[가-힣a-z ]{1,30}"),
        prop::collection::vec(any::<u8>(), 1..5),
        earlier(),
    )
        .prop_flat_map(
            |(claim_type, reason, method, fees, delivered_at, now, memo, lines, earlier)| {
                let items: Vec<_> = (1..=lines.len() as i64).map(item).collect();
                items.prop_map(move |items| ClaimFeesInput {
                    claim_type,
                    reason,
                    collection_method: method,
                    base_fee: fees.0,
                    free_threshold: fees.1,
                    shipping_fee_paid: fees.2,
                    return_fee: fees.3,
                    delivered_at,
                    now,
                    memo: memo.clone(),
                    items,
                    earlier_claims: earlier.clone(),
                })
            },
        )
}

fn exchange_input() -> impl Strategy<Value = ExchangeRulesInput> {
    (
        reason(),
        fault(),
        prop::collection::vec((bundle(), 1u32..4, any::<bool>(), 0u32..4), 1..6),
        earlier(),
    )
        .prop_map(|(reason, fault, lines, earlier)| {
            let order_lines: Vec<OrderLine> = lines
                .iter()
                .enumerate()
                .map(|(i, (bundle_id, active, _, _))| OrderLine {
                    line_id: i as i64 + 1,
                    active_quantity: *active,
                    bundle_id: bundle_id.clone(),
                })
                .collect();
            let items = lines
                .iter()
                .enumerate()
                .filter(|(_, (_, _, claimed, _))| *claimed)
                .map(|(i, (bundle_id, active, _, take))| ExchangeItem {
                    item: Item {
                        line_id: i as i64 + 1,
                        product_id: 7,
                        option_id: 70 + i as i64,
                        unit_price: 10_000,
                        quantity: (*take).clamp(1, *active),
                        bulky: false,
                        bundle_id: bundle_id.clone(),
                    },
                    replacement_option_id: 80 + i as i64,
                    replacement_price: 10_000,
                    replacement_stock: *take,
                })
                .collect();
            ExchangeRulesInput {
                reason,
                fault,
                now: 1_790_000_000,
                order_lines,
                items,
                earlier_exchanges: earlier,
            }
        })
}

fn window_input() -> impl Strategy<Value = ClaimWindowInput> {
    (
        prop::sample::select(vec![ClaimType::Return, ClaimType::Exchange]),
        reason(),
        fault(),
        time(),
        time(),
        time(),
        1_700_000_000i64..1_810_000_000,
    )
        .prop_map(
            |(claim_type, reason, fault, shipped_at, delivered_at, confirmed, now)| {
                ClaimWindowInput {
                    claim_type,
                    reason,
                    fault,
                    shipped_at,
                    delivered_at,
                    purchase_confirmed_at: confirmed,
                    now,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// `claim_fees`: the plugin and the native default agree on every generated claim.
    #[test]
    fn default_plugin_matches_native_claim_fees(input in fees_input()) {
        let (host, plugin) = default_plugin();
        let (out, _) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &input);
        prop_assert_eq!(out.unwrap(), defaults::claim_fees(input));
    }

    /// `exchange_rules`: the plugin and the native default agree.
    #[test]
    fn default_plugin_matches_native_exchange_rules(input in exchange_input()) {
        let (host, plugin) = default_plugin();
        let (out, _) =
            host.evaluate::<_, ExchangeVerdict>(&plugin, PolicyHook::ExchangeRules, &input);
        prop_assert_eq!(out.unwrap(), defaults::exchange_rules(input));
    }

    /// `claim_window`: the plugin and the native default agree.
    #[test]
    fn default_plugin_matches_native_claim_window(input in window_input()) {
        let (host, plugin) = default_plugin();
        let (out, _) = host.evaluate::<_, WindowVerdict>(&plugin, PolicyHook::ClaimWindow, &input);
        prop_assert_eq!(out.unwrap(), defaults::claim_window(input));
    }
}

/// The compile worker `oms` uses.
fn worker() -> oms::plugin::Compiler {
    oms::plugin::Compiler::Worker(env!("CARGO_BIN_EXE_oms").into())
}

/// The default-policy example, checked once per test binary (a check compiles afresh).
fn default_plugin() -> (Arc<PluginHost>, Arc<oms::plugin::CompiledPlugin>) {
    static PLUGIN: std::sync::OnceLock<Arc<oms::plugin::CompiledPlugin>> =
        std::sync::OnceLock::new();
    let host = plugin_host();
    let plugin = PLUGIN
        .get_or_init(|| {
            host.check(&example("default-policy"), PolicyHook::ClaimFees)
                .expect("default-policy passes the upload check")
                .plugin
        })
        .clone();
    (host, plugin)
}

// ---------------------------------------------------------------------------------------------
// Hostile modules.

/// A `claim_fees` module in WebAssembly text that answers like a policy (fault CUSTOMER,
/// return fee 1000 × the calls this instance has seen, so 1000 in a fresh instance) until its
/// input's `now` passes `threshold`, and then does `misbehave`.
pub struct Fees {
    pub version: i32,
    pub pages: u32,
    pub threshold: i64,
    pub misbehave: &'static str,
    pub prefix: &'static str,
    pub padding: usize,
}

impl Default for Fees {
    fn default() -> Fees {
        Fees {
            version: 1,
            pages: 1,
            threshold: 1_780_000_000,
            misbehave: "",
            prefix: "",
            padding: 0,
        }
    }
}

/// `(512 << 32) | 32`: the 32-byte FeeDecision the module writes at 512.
const OUT: i64 = (512 << 32) | 32;

impl Fees {
    pub fn misbehaving(misbehave: &'static str) -> Fees {
        Fees {
            misbehave,
            ..Fees::default()
        }
    }

    pub fn wasm(&self) -> Vec<u8> {
        let Fees {
            version,
            pages,
            threshold,
            misbehave,
            prefix,
            padding,
        } = self;
        let padding = if *padding > 0 {
            format!("(data (i32.const 65536) \"{}\")", "x".repeat(*padding))
        } else {
            String::new()
        };
        wat(&format!(
            r#"(module
  (import "oms" "log" (func $log (param i32 i32)))
  {prefix}
  (memory (export "memory") {pages})
  {padding}
  (global $heap (mut i32) (i32.const 1024))
  (global $calls (mut i32) (i32.const 0))
  (func (export "oms_contract_version") (result i32) (i32.const {version}))
  (func (export "oms_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))
    (global.set $heap (i32.add (local.get $p) (local.get $len)))
    (local.get $p))
  (func $rec (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func (export "claim_fees") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i64.gt_s (i64.load offset=56 (local.get $ptr)) (i64.const {threshold}))
      (then {misbehave}))
    (i32.store (i32.const 512) (i32.const 1))
    (i32.store (i32.const 516) (i32.const 3))
    (i64.store (i32.const 520) (i64.mul (i64.extend_i32_u (global.get $calls)) (i64.const 1000)))
    (i64.store (i32.const 528) (i64.const 0))
    (i64.store (i32.const 536) (i64.const 0))
    (i64.const {OUT})))"#
        ))
    }
}

const LOOP: &str = "(loop $l (br $l))";
/// A loop that is slow per unit of fuel: each turn calls the host for four instructions (bulk
/// memory would not do: wasmtime charges `memory.fill` per byte).
const SLOW_LOOP: &str = "(loop $l (call $log (i32.const 0) (i32.const 200)) (br $l))";
const TRAP: &str = "unreachable";
const RECURSE: &str = "(drop (call $rec (i32.const 0)))";
const GROW_TO_CAP: &str =
    "(if (i32.eq (memory.grow (i32.sub (i32.const 256) (memory.size))) (i32.const -1)) (then unreachable))";
const GROW_PAST_CAP: &str =
    "(if (i32.eq (memory.grow (i32.sub (i32.const 257) (memory.size))) (i32.const -1)) (then unreachable))";
const HUGE_OUTPUT: &str = "(return (i64.const 2199024304128))"; // (512 << 32) | 1 MiB
const GARBAGE: &str = "(i32.store (i32.const 512) (i32.const 9)) (i32.store (i32.const 516) (i32.const 0)) (i64.store (i32.const 520) (i64.const 0)) (i64.store (i32.const 528) (i64.const 0)) (i64.store (i32.const 536) (i64.const 0)) (return (i64.const 2199023255584))";
const LOG_FLOOD: &str = "(loop $l (call $log (i32.const 0) (i32.const 200)) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))";

/// A claim_fees input whose `now` is past the hostile modules' threshold.
fn late_input() -> ClaimFeesInput {
    ClaimFeesInput {
        now: 1_790_000_000,
        ..oms::plugin::samples::claim_fees()
    }
}

/// Every hostile behaviour is contained: the evaluation fails with its reason (or succeeds
/// within the caps), the host keeps working, and a good plugin evaluated next is unaffected.
#[test]
fn hostile_evaluations_are_contained() {
    let host = plugin_host();
    let good = host
        .check(&example("default-policy"), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let input = late_input();
    let expected = defaults::claim_fees(input.clone());
    let cases: [(&str, Option<FailureReason>); 8] = [
        (LOOP, Some(FailureReason::OutOfFuel)),
        (TRAP, Some(FailureReason::Trap)),
        (RECURSE, Some(FailureReason::StackOverflow)),
        (GROW_TO_CAP, None),
        (GROW_PAST_CAP, Some(FailureReason::MemoryLimit)),
        (HUGE_OUTPUT, Some(FailureReason::OutputTooLarge)),
        (GARBAGE, Some(FailureReason::BadOutput)),
        (LOG_FLOOD, None),
    ];
    for (misbehave, want) in cases {
        let plugin = host
            .check(&Fees::misbehaving(misbehave).wasm(), PolicyHook::ClaimFees)
            .unwrap_or_else(|e| panic!("{misbehave}: passes the upload check: {e}"))
            .plugin;
        let (out, stats) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &input);
        match want {
            Some(reason) => {
                let failure = out.expect_err(misbehave);
                assert_eq!(failure.reason, reason, "{misbehave}: {failure}");
            }
            // Fresh instance: the per-instance call counter is 1, so the fee is 1000.
            None => assert_eq!(out.unwrap().return_fee, 1000, "{misbehave}"),
        }
        assert!(
            stats.log.len() <= 1024,
            "the log is capped: {}",
            stats.log.len()
        );
        assert!(stats.fuel_used <= 2_000_000);
        let (after, _) = host.evaluate::<_, FeeDecision>(&good, PolicyHook::ClaimFees, &input);
        assert_eq!(after.unwrap(), expected, "a good plugin after {misbehave}");
    }
    // Fresh state on every call, also after a trap.
    let stateful = host
        .check(&Fees::misbehaving(TRAP).wasm(), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let early = oms::plugin::samples::claim_fees();
    for _ in 0..3 {
        let (out, _) = host.evaluate::<_, FeeDecision>(&stateful, PolicyHook::ClaimFees, &early);
        assert_eq!(out.unwrap().return_fee, 1000);
        let (out, _) = host.evaluate::<_, FeeDecision>(&stateful, PolicyHook::ClaimFees, &input);
        assert!(out.is_err());
    }
    // A huge input is refused before the guest runs.
    let huge = ClaimFeesInput {
        memo: Some("가".repeat(50_000)),
        ..input.clone()
    };
    let (out, stats) = host.evaluate::<_, FeeDecision>(&good, PolicyHook::ClaimFees, &huge);
    assert_eq!(out.unwrap_err().reason, FailureReason::InputTooLarge);
    assert_eq!(stats.fuel_used, 0);
    let (after, _) = host.evaluate::<_, FeeDecision>(&good, PolicyHook::ClaimFees, &input);
    assert_eq!(after.unwrap(), expected);
}

/// The epoch deadline stops a guest the fuel budget would let run longer: 11 million
/// instructions of a loop that calls the host every four take far longer than 3 ms, so the
/// deadline wins even when the epoch thread is slow to be scheduled on a busy machine (a plain
/// loop of 11 million instructions takes about 3 ms itself, which made this test a coin toss).
#[test]
fn the_deadline_is_a_hard_stop() {
    let host = PluginHost::new(PluginLimits::with(11_000_000, 3, 50_000).unwrap()).unwrap();
    let plugin = host
        .check(&Fees::misbehaving(SLOW_LOOP).wasm(), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let started = std::time::Instant::now();
    let (out, stats) =
        host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &late_input());
    let failure = out.unwrap_err();
    assert_eq!(failure.reason, FailureReason::Deadline, "{failure}");
    // The fuel the guest really burnt before the deadline cut it off.
    assert!(
        failure.fuel_used > 0 && failure.fuel_used < 11_000_000,
        "{failure:?}"
    );
    assert_eq!(failure.fuel_used, stats.fuel_used);
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    assert!(PluginLimits::with(11_000_001, 5, 50_000).is_err());

    // The loop really is slow per unit of fuel: with a hundredth of the budget and a deadline it
    // does not reach, it runs out of fuel, and only after more than the 3 ms above.
    let patient = PluginHost::new(PluginLimits::with(110_000, 1000, 50_000).unwrap()).unwrap();
    let plugin = patient
        .check(&Fees::misbehaving(SLOW_LOOP).wasm(), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let started = std::time::Instant::now();
    let (out, _) =
        patient.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &late_input());
    let took = started.elapsed();
    assert_eq!(out.unwrap_err().reason, FailureReason::OutOfFuel);
    assert!(took > std::time::Duration::from_millis(3), "{took:?}");
    eprintln!("a hundredth of the fuel in the slow loop: {took:?}");
}

/// The WebAssembly-text example, written from the docs alone, works like its README says.
#[test]
fn the_hand_written_example_follows_the_contract() {
    let host = plugin_host();
    let plugin = host
        .check(&flat_fee(), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let input = oms::plugin::samples::claim_fees();
    let (out, stats) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &input);
    let out = out.unwrap();
    assert_eq!(
        (out.fault, out.return_fee, out.exchange_fee),
        (Fault::Customer, 3000, 6000)
    );
    assert!(out.initial_shipping && out.coupon_clawback);
    assert_eq!(out.message.as_deref(), Some("flat fee policy"));
    assert!(stats.log.contains("flat fee"), "{}", stats.log);
    let seller = ClaimFeesInput {
        reason: Reason::Defective,
        ..input
    };
    let (out, _) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &seller);
    let out = out.unwrap();
    assert_eq!(
        (out.fault, out.return_fee, out.exchange_fee),
        (Fault::Seller, 0, 0)
    );
}

pub const PLUGINS: &str =
    "query($s: ID) { plugins(sellerId: $s) { id version hook state consecutiveFailures switchedOffAt } }";

async fn dry_run(t: &TestApp, token: &str, id: &Value, input: Value) -> Value {
    t.gql(token, "mutation($id: ID!, $in: JSON!) { dryRunPlugin(input: {pluginId: $id, input: $in}) { evaluation { output failure { reason message fuelUsed } fuelUsed micros log } userErrors { code message } } }", json!({"id": id, "in": input})).await["dryRunPlugin"].clone()
}

/// The sample `claim_fees` input as JSON (what a partner writes in an input file).
fn sample_json(now: i64) -> Value {
    let mut v = json!({
        "claimType": "EXCHANGE", "reason": "SIZE_OR_OPTION_CHANGE", "collectionMethod": "PICKUP",
        "baseFee": 3000, "freeThreshold": 50000, "shippingFeePaid": 0, "returnFee": 3000,
        "deliveredAt": now - 172_800, "now": now, "memo": null,
        "items": [{"lineId": 1, "productId": 1, "optionId": 1, "unitPrice": 29000, "quantity": 1, "bulky": false, "bundleId": null}],
        "earlierClaims": [],
    });
    v["now"] = json!(now);
    v
}

/// Uploads refused with a message that names the problem, nothing stored; hostile modules that
/// pass the check are contained when dry-run through the API, and the server keeps answering.
async fn hostile_uploads(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let seller = &shop.seller.token;
    let refusals: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        (b"\0asm\x01\0\0\0garbage".to_vec(), "CLAIM_FEES", "PLUGIN_INVALID", "not a valid WebAssembly module"),
        (
            Fees { prefix: r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#, ..Fees::default() }.wasm(),
            "CLAIM_FEES", "PLUGIN_INVALID", "forbidden import `wasi_snapshot_preview1.fd_write`",
        ),
        (Fees::default().wasm(), "EXCHANGE_RULES", "PLUGIN_INVALID", "missing export `exchange_rules`"),
        (Fees { version: 2, ..Fees::default() }.wasm(), "CLAIM_FEES", "PLUGIN_UNSUPPORTED_CONTRACT", "contract version 2 is not supported; this server accepts version 1"),
        (Fees { pages: 20, padding: 1_100_000, ..Fees::default() }.wasm(), "CLAIM_FEES", "PLUGIN_TOO_LARGE", "the limit is 1048576 bytes"),
        (Fees { threshold: 0, misbehave: LOOP, ..Fees::default() }.wasm(), "CLAIM_FEES", "PLUGIN_SMOKE_FAILED", "OUT_OF_FUEL"),
        (Fees { pages: 300, ..Fees::default() }.wasm(), "CLAIM_FEES", "PLUGIN_INVALID", "300 pages of initial memory"),
    ];
    for (wasm, hook, code, message) in refusals {
        let d = PluginBuilder::new(hook, &wasm).upload(&t, seller).await;
        assert_eq!(d["plugin"], Value::Null, "{d}");
        assert_eq!(d["userErrors"][0]["code"], code, "{d}");
        let got = d["userErrors"][0]["message"].as_str().unwrap();
        assert!(got.contains(message), "{got:?} should say {message:?}");
    }
    assert_eq!(
        t.gql(seller, PLUGINS, json!({})).await["plugins"],
        json!([])
    );

    // Modules that pass the check but misbehave on a later `now`: each dry run fails with its
    // reason while the server answers other requests; a good plugin then dry-runs cleanly.
    let good = PluginBuilder::claim_fees(&example("default-policy"))
        .upload(&t, seller)
        .await;
    let good_id = good["plugin"]["id"].clone();
    for (misbehave, reason) in [
        (LOOP, "OUT_OF_FUEL"),
        (TRAP, "TRAP"),
        (RECURSE, "STACK_OVERFLOW"),
        (GROW_PAST_CAP, "MEMORY_LIMIT"),
        (HUGE_OUTPUT, "OUTPUT_TOO_LARGE"),
        (GARBAGE, "BAD_OUTPUT"),
    ] {
        let d = PluginBuilder::claim_fees(&Fees::misbehaving(misbehave).wasm())
            .upload(&t, seller)
            .await;
        let id = d["plugin"]["id"].clone();
        let (run, other) = tokio::join!(
            dry_run(&t, seller, &id, sample_json(1_790_000_000)),
            t.gql(seller, "{ viewer { role } }", json!({}))
        );
        assert_eq!(run["evaluation"]["failure"]["reason"], reason, "{run}");
        assert_eq!(run["evaluation"]["output"], Value::Null);
        assert_eq!(other["viewer"]["role"], "SELLER");
        let ok = dry_run(&t, seller, &good_id, sample_json(1_790_000_000)).await;
        assert_eq!(ok["evaluation"]["failure"], Value::Null, "{ok}");
        assert_eq!(ok["evaluation"]["output"]["exchangeFee"], 6000, "{ok}");
    }
    // A dry run's input must be the hook's document.
    let bad = dry_run(&t, seller, &good_id, json!({"claimType": "RETURN"})).await;
    assert_eq!(
        bad["userErrors"][0]["code"], "INVALID_PLUGIN_INPUT",
        "{bad}"
    );
}
on_both!(plugin_uploads, hostile_uploads);

/// A seller writes a size-exchange policy, uploads it, dry-runs it, activates it: the
/// customer's size exchange costs nothing and names the plugin; after deactivation the next
/// one pays the default fee. Rollback by activating an older version; a second replica decides
/// with the plugin too, compiling it from the database.
async fn lifecycle(t: TestApp) {
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let (customer, seller) = (&shop.customer().token, &shop.seller.token);
    let order = OrderBuilder::new(&shop).quantity(4).delivered(&t).await;
    let exchange = || {
        ClaimBuilder::exchange(&order.number, order.line(), shop.sibling())
            .reason("SIZE_OR_OPTION_CHANGE")
    };
    let decision = |n: Value| {
        let t = &t;
        let customer = customer.clone();
        async move {
            t.gql(&customer, "query($n: String!) { claim(claimNumber: $n) { exchangeFee policyDecision { claimFees { policy plugin { id version sha256 } output fuelUsed fallback { reason } } exchangeRules { policy } } } }", json!({"n": n})).await["claim"].clone()
        }
    };

    let wasm = example("free-size-exchange");
    let v1 = PluginBuilder::claim_fees(&wasm).upload(&t, seller).await;
    assert_eq!(v1["userErrors"], json!([]), "{v1}");
    let plugin = v1["plugin"].clone();
    assert_eq!(plugin["version"], 1);
    assert_eq!(plugin["state"], "INACTIVE");
    assert_eq!(plugin["uploadedBy"], format!("SELLER:{}", shop.seller.id));
    assert_eq!(plugin["sizeBytes"], wasm.len());
    assert_eq!(plugin["sha256"], PluginHost::sha256(&wasm));
    assert!(plugin["fuelUsedAtUpload"].as_i64().unwrap() > 0);

    let run = dry_run(&t, seller, &plugin["id"], sample_json(1_790_000_000)).await;
    let eval = &run["evaluation"];
    assert_eq!(eval["output"]["exchangeFee"], 0, "{run}");
    assert_eq!(
        eval["output"]["message"],
        "사이즈·옵션 교환 배송비는 판매자가 부담합니다"
    );
    assert!(eval["fuelUsed"].as_i64().unwrap() > 0);
    assert!(
        eval["log"].as_str().unwrap().contains("seller pays"),
        "{run}"
    );

    // Before activation the default decides: a round trip of 6,000.
    let d = exchange().request(&t, customer).await;
    let before = decision(d["claim"]["claimNumber"].clone()).await;
    assert_eq!(before["exchangeFee"], 6000, "{before}");
    assert_eq!(before["policyDecision"]["claimFees"]["policy"], "DEFAULT");

    let a = activate_plugin(&t, seller, &plugin["id"]).await;
    assert_eq!(a["plugin"]["state"], "ACTIVE", "{a}");
    let d = exchange().request(&t, customer).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["claim"]["hold"], Value::Null, "no fee, no hold: {d}");
    let with = decision(d["claim"]["claimNumber"].clone()).await;
    assert_eq!(with["exchangeFee"], 0, "{with}");
    let fees = &with["policyDecision"]["claimFees"];
    assert_eq!(fees["policy"], "PLUGIN");
    assert_eq!(fees["plugin"]["id"], plugin["id"]);
    assert_eq!(fees["plugin"]["version"], 1);
    assert_eq!(fees["plugin"]["sha256"], plugin["sha256"]);
    assert_eq!(
        fees["output"]["message"],
        "사이즈·옵션 교환 배송비는 판매자가 부담합니다"
    );
    assert!(fees["fuelUsed"].as_i64().unwrap() > 0);
    assert_eq!(fees["fallback"], Value::Null);
    assert_eq!(with["policyDecision"]["exchangeRules"]["policy"], "DEFAULT");

    // Another replica (nothing compiled) decides with the plugin as well.
    let replica = t.replica();
    let d = exchange().request(&replica, customer).await;
    let there = decision(d["claim"]["claimNumber"].clone()).await;
    assert_eq!(there["exchangeFee"], 0, "{there}");
    assert_eq!(there["policyDecision"]["claimFees"]["policy"], "PLUGIN");

    // Rollback: version 2 active, then version 1 again.
    let v2 = PluginBuilder::claim_fees(&example("whole-set-bulky"))
        .upload(&t, seller)
        .await;
    assert_eq!(v2["plugin"]["version"], 2, "{v2}");
    activate_plugin(&t, seller, &v2["plugin"]["id"]).await;
    let list = t.gql(seller, PLUGINS, json!({})).await["plugins"].clone();
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| (p["version"].clone(), p["state"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!(2), json!("ACTIVE")), (json!(1), json!("INACTIVE"))]
    );
    activate_plugin(&t, seller, &plugin["id"]).await;
    let list = t.gql(seller, PLUGINS, json!({})).await["plugins"].clone();
    assert_eq!(list[0]["state"], "INACTIVE");
    assert_eq!(list[1]["state"], "ACTIVE");

    // Deactivated: the next claim pays the default fee again.
    let d = t.gql(seller, "mutation { deactivatePlugin(input: {hook: CLAIM_FEES}) { plugin { id state } userErrors { code } } }", json!({})).await;
    assert_eq!(d["deactivatePlugin"]["plugin"]["id"], plugin["id"], "{d}");
    assert_eq!(d["deactivatePlugin"]["plugin"]["state"], "INACTIVE");
    for c in before_claims(&t, customer, &order.number).await {
        claim_call(&t, customer, "withdrawClaim", json!({"claimNumber": c})).await;
    }
    let d = exchange().request(&t, customer).await;
    let after = decision(d["claim"]["claimNumber"].clone()).await;
    assert_eq!(after["exchangeFee"], 6000, "{after}");
    assert_eq!(after["policyDecision"]["claimFees"]["policy"], "DEFAULT");
    assert_eq!(after["policyDecision"]["claimFees"]["plugin"], Value::Null);
}
on_both!(plugin_lifecycle, lifecycle);

/// Claim numbers of an order's open claims.
async fn before_claims(t: &TestApp, token: &str, number: &str) -> Vec<Value> {
    let d = t
        .gql(
            token,
            "query($n: String!) { order(orderNumber: $n) { claims { claimNumber status } } }",
            json!({"n": number}),
        )
        .await;
    d["order"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["status"].as_str().unwrap().ends_with("WITHDRAWN"))
        .map(|c| c["claimNumber"].clone())
        .collect()
}

/// `exchange_rules` by plugin: whole-set-bulky refuses part of a set even when the seller is at
/// fault (the default would allow it), naming the missing line.
async fn whole_sets(t: TestApp) {
    // The shop's option is the top of the set; its sibling the top in another size.
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let (customer, seller) = (&shop.customer().token, &shop.seller.token);
    let top_other = shop.sibling();
    let bottom = t.option(shop.seller.id, 20000, 10).await;
    let order = OrderBuilder::new(&shop)
        .bundle("SET-1")
        .line(bottom, 1)
        .bundle("SET-1")
        .delivered(&t)
        .await;
    PluginBuilder::exchange_rules(&example("whole-set-bulky"))
        .activated(&t, seller)
        .await;
    let exchange = ClaimBuilder::exchange(&order.number, order.line(), top_other);
    let d = exchange.request(&t, customer).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_NOT_ALLOWED", "{d}");
    let message = d["userErrors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("BUNDLE_MUST_BE_WHOLE: 세트 상품은"),
        "{message}"
    );
    assert_eq!(t.stock(top_other).await, 10, "the refusal reserved nothing");
    // The default (after deactivation) lets the seller's fault through.
    t.gql(
        seller,
        "mutation { deactivatePlugin(input: {hook: EXCHANGE_RULES}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let d = exchange.request(&t, customer).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
}
on_both!(plugin_whole_sets, whole_sets);

/// A plugin that traps on real claims: each claim falls back to the default with the failure
/// on the claim, in `pluginFailures` and in the metrics; after 5 in a row the circuit breaker
/// switches it off (the seller sees it), and activating it again switches it back on.
async fn circuit_breaker(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let (customer, seller) = (&shop.customer().token, &shop.seller.token);
    let order = OrderBuilder::new(&shop).quantity(7).delivered(&t).await;
    let id = PluginBuilder::claim_fees(&Fees::misbehaving(TRAP).wasm())
        .activated(&t, seller)
        .await["id"]
        .clone();
    let ret = ClaimBuilder::return_of(&order.number, order.line());
    let q = "query($n: String!) { claim(claimNumber: $n) { returnFeeDue: policyDecision { claimFees { policy plugin { id } output fallback { reason message fuelUsed } } } } }";
    for i in 1..=5 {
        let d = ret.request(&t, customer).await;
        assert_eq!(d["userErrors"], json!([]), "the claim goes ahead: {d}");
        let fees = t
            .gql(customer, q, json!({"n": d["claim"]["claimNumber"]}))
            .await["claim"]["returnFeeDue"]["claimFees"]
            .clone();
        assert_eq!(fees["policy"], "DEFAULT", "{fees}");
        assert_eq!(fees["plugin"]["id"], id);
        assert_eq!(fees["fallback"]["reason"], "TRAP");
        assert_eq!(fees["output"]["returnFee"], 3000, "the default's fee");
        let list = t.gql(seller, PLUGINS, json!({})).await["plugins"][0].clone();
        assert_eq!(list["consecutiveFailures"], i);
        assert_eq!(
            list["state"],
            if i < 5 { "ACTIVE" } else { "SWITCHED_OFF" },
            "{list}"
        );
    }
    let failures = t
        .gql(
            seller,
            "{ pluginFailures { pluginId hook reason message claimId } }",
            json!({}),
        )
        .await["pluginFailures"]
        .clone();
    assert_eq!(failures.as_array().unwrap().len(), 5);
    assert_eq!(failures[0]["reason"], "TRAP");
    assert_eq!(failures[0]["hook"], "CLAIM_FEES");
    // Switched off: the plugin is not asked any more.
    let d = ret.request(&t, customer).await;
    let fees = t
        .gql(customer, q, json!({"n": d["claim"]["claimNumber"]}))
        .await["claim"]["returnFeeDue"]["claimFees"]
        .clone();
    assert_eq!(fees["plugin"], Value::Null, "{fees}");
    let (_, metrics) = t
        .send(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("oms_plugin_evaluations_total{hook=\"CLAIM_FEES\",outcome=\"TRAP\"} 5"),
        "{metrics}"
    );
    assert!(metrics
        .contains("oms_plugin_switched_off_total{hook=\"CLAIM_FEES\",outcome=\"SWITCHED_OFF\"} 1"));
    // Activating it again closes the breaker.
    let a = activate_plugin(&t, seller, &id).await;
    assert_eq!(a["plugin"]["state"], "ACTIVE", "{a}");
    let list = t.gql(seller, PLUGINS, json!({})).await["plugins"][0].clone();
    assert_eq!(
        (list["state"].clone(), list["consecutiveFailures"].clone()),
        (json!("ACTIVE"), json!(0))
    );
}
on_both!(plugin_circuit_breaker, circuit_breaker);

/// A seller cannot upload for, see, dry-run, activate or deactivate another seller's plugins;
/// operators manage anyone's, analysts read, customers neither.
async fn tenancy(t: TestApp) {
    let a = t.seller("A", 3000, 50000, 3000).await;
    let b = t.seller("B", 3000, 50000, 3000).await;
    let seller_a = t.token(Role::Seller, &a.to_string());
    let seller_b = t.token(Role::Seller, &b.to_string());
    let ops = t.operator();
    let wasm = example("free-size-exchange");
    let mine = PluginBuilder::claim_fees(&wasm).upload(&t, &seller_a).await["plugin"]["id"].clone();
    let by_ops = PluginBuilder::claim_fees(&wasm)
        .seller(b)
        .upload(&t, &ops)
        .await;
    assert_eq!(by_ops["plugin"]["uploadedBy"], "OPERATOR", "{by_ops}");
    let theirs = by_ops["plugin"]["id"].clone();

    let d = PluginBuilder::claim_fees(&wasm)
        .seller(a)
        .upload(&t, &seller_b)
        .await;
    assert_eq!(d["userErrors"][0]["code"], "NOT_FOUND", "{d}");
    let listed = t.gql(&seller_b, PLUGINS, json!({})).await["plugins"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], theirs);
    assert_eq!(
        t.gql(&seller_b, PLUGINS, json!({"s": gid("Seller", a)}))
            .await["plugins"],
        json!([])
    );
    assert_eq!(
        dry_run(&t, &seller_b, &mine, sample_json(1_790_000_000)).await["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        activate_plugin(&t, &seller_b, &mine).await["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let d = t.gql(&seller_b, "mutation($s: ID) { deactivatePlugin(input: {sellerId: $s, hook: CLAIM_FEES}) { userErrors { code } } }", json!({"s": gid("Seller", a)})).await;
    assert_eq!(d["deactivatePlugin"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(
        t.gql(&seller_b, "{ pluginFailures { id } }", json!({}))
            .await["pluginFailures"],
        json!([])
    );

    assert_eq!(
        t.gql(&ops, PLUGINS, json!({})).await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        activate_plugin(&t, &ops, &mine).await["plugin"]["state"],
        "ACTIVE"
    );
    let analyst = t.token(Role::Analyst, "an");
    assert_eq!(
        t.gql(&analyst, PLUGINS, json!({})).await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, body) = t
        .post(
            Some(&analyst),
            UPLOAD,
            json!({"input": PluginBuilder::claim_fees(&wasm).input()}),
        )
        .await;
    assert!(
        body["errors"].is_array(),
        "an analyst cannot upload: {body}"
    );
    let customer = t.token(Role::Customer, "1");
    let (_, body) = t.post(Some(&customer), PLUGINS, json!({})).await;
    assert!(
        body["errors"].is_array(),
        "a customer sees no plugins: {body}"
    );
    assert_eq!(
        t.gql(&ops, PLUGINS, json!({})).await["plugins"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "refusals stored nothing"
    );
}
on_both!(plugin_tenancy, tenancy);

/// `oms plugin check` and `oms plugin run` on the built examples, as a partner runs them.
#[test]
fn the_offline_check_runs_like_the_upload() {
    let dir = std::env::temp_dir().join(format!("oms-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("free_size_exchange.wasm");
    std::fs::write(&file, example("free-size-exchange")).unwrap();
    let report = oms::plugin::offline::check_file(&file, PolicyHook::ClaimFees, worker()).unwrap();
    assert!(report.starts_with("ok:"), "{report}");
    let refused =
        oms::plugin::offline::check_file(&file, PolicyHook::ExchangeRules, worker()).unwrap_err();
    assert!(
        refused.contains("missing export `exchange_rules`"),
        "{refused}"
    );
    let input = dir.join("input.json");
    std::fs::write(&input, sample_json(1_790_000_000).to_string()).unwrap();
    let out =
        oms::plugin::offline::run_file(&file, PolicyHook::ClaimFees, &input, worker()).unwrap();
    assert!(out.contains("\"exchangeFee\": 0"), "{out}");
    assert!(out.contains("fuel:"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

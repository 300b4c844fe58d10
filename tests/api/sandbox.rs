//! The plugin sandbox's holes, each closed and tested through the API (issue 16): fees bounded
//! by the marketplace, customer text that cannot switch a plugin off, inputs that carry only
//! the plugin's own seller's claims, compile bombs refused before they compile, claims that
//! compile outside their transaction, a bounded cache, and per-seller quotas.

use std::time::{Duration, Instant};

use base64::Engine;
use oms::domain::actor::Role;
use oms::domain::policy::PolicyHook;
use oms::plugin::{PluginError, PluginHost, PluginLimits, DEFAULT_FEE_CAP};
use oms_policy_sdk::{ClaimFeesInput, Document};
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, PluginBuilder, ShopBuilder};
use crate::harness::{Backend, TestApp};
use crate::on_both;
use crate::plugins::{Fees, PLUGINS};
use crate::wasm::{example, wat};

const DECISION: &str = "query($n: String!) { claim(claimNumber: $n) { status policyDecision { claimFees { policy output fallback { reason message } } } } }";

/// A claim's `policyDecision.claimFees` as `token` sees it.
async fn claim_fees(t: &TestApp, token: &str, claim: &Value) -> Value {
    t.gql(token, DECISION, json!({"n": claim["claimNumber"]}))
        .await["claim"]["policyDecision"]["claimFees"]
        .clone()
}

/// A customer-fault decision with these fees, on every real claim (the test clock is past the
/// `Fees` threshold; the upload's samples are not).
fn deciding(return_fee: i64, exchange_fee: i64) -> Vec<u8> {
    let misbehave = format!(
        "(i32.store (i32.const 512) (i32.const 1)) (i32.store (i32.const 516) (i32.const 3)) \
         (i64.store (i32.const 520) (i64.const {return_fee})) \
         (i64.store (i32.const 528) (i64.const {exchange_fee})) \
         (i64.store (i32.const 536) (i64.const 0)) (return (i64.const 2199023255584))"
    );
    Fees::misbehaving(Box::leak(misbehave.into_boxed_str())).wasm()
}

/// A plugin's fees are bounded by the marketplace: at the cap (both fees at once: a claim
/// charges one of them) it decides, one won past it — or `i64::MAX` — is BAD_OUTPUT and the
/// default decides; analytics still add up.
async fn fee_cap(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let (customer, seller) = (&shop.customer().token, &shop.seller.token);
    let order = OrderBuilder::new(&shop).quantity(5).delivered(&t).await;
    let ret = ClaimBuilder::return_of(&order.number, order.line());

    PluginBuilder::claim_fees(&deciding(DEFAULT_FEE_CAP, DEFAULT_FEE_CAP))
        .activated(&t, seller)
        .await;
    let d = ret.request(&t, customer).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let fees = claim_fees(&t, customer, &d["claim"]).await;
    assert_eq!(
        fees["policy"], "PLUGIN",
        "at the cap the plugin decides: {fees}"
    );
    assert_eq!(fees["output"]["returnFee"], DEFAULT_FEE_CAP);

    for (return_fee, exchange_fee) in [
        (DEFAULT_FEE_CAP + 1, 0),
        (0, DEFAULT_FEE_CAP + 1),
        (i64::MAX, i64::MAX),
    ] {
        PluginBuilder::claim_fees(&deciding(return_fee, exchange_fee))
            .activated(&t, seller)
            .await;
        let d = ret.request(&t, customer).await;
        assert_eq!(d["userErrors"], json!([]), "{d}");
        let fees = claim_fees(&t, customer, &d["claim"]).await;
        assert_eq!(
            fees["policy"], "DEFAULT",
            "{return_fee}/{exchange_fee}: {fees}"
        );
        assert_eq!(fees["fallback"]["reason"], "BAD_OUTPUT");
        let message = fees["fallback"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("cap of 50000 won"), "{message}");
        assert_eq!(fees["output"]["returnFee"], 3000, "the default's fee");
    }
    let stats = t
        .gql(
            &shop.operator,
            "{ claimStats { rows { claims feesCharged } } }",
            json!({}),
        )
        .await;
    assert_eq!(stats["claimStats"]["rows"][0]["claims"], 4, "{stats}");
}
on_both!(plugin_fee_cap, fee_cap);

/// Customer text cannot push a claim past the plugin's input cap: a memo past its limit is
/// refused at the API (the plugin never runs, nothing counts against it); one at the limit, in
/// the widest characters, reaches the plugin.
async fn customer_text(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let (customer, seller) = (&shop.customer().token, &shop.seller.token);
    let order = OrderBuilder::new(&shop).quantity(3).delivered(&t).await;
    PluginBuilder::claim_fees(&Fees::default().wasm())
        .activated(&t, seller)
        .await;
    let ret = |memo: String| {
        ClaimBuilder::return_of(&order.number, order.line()).field("memo", json!(memo))
    };
    let d = ret("😀".repeat(1_001)).request(&t, customer).await;
    assert_eq!(d["userErrors"][0]["code"], "TEXT_TOO_LONG", "{d}");
    let d = ret("😀".repeat(1_000)).request(&t, customer).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(
        claim_fees(&t, customer, &d["claim"]).await["policy"],
        "PLUGIN"
    );
    // OUT_OF_STOCK is the seller's cancel alone: refused before the policy is asked.
    let d = ClaimBuilder::return_of(&order.number, order.line())
        .reason("OUT_OF_STOCK")
        .request(&t, customer)
        .await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_NOT_ALLOWED", "{d}");
    assert_eq!(
        d["userErrors"][0]["message"],
        "requestReturn cannot be asked with the reason OUT_OF_STOCK"
    );
    let list = t.gql(seller, PLUGINS, json!({})).await["plugins"][0].clone();
    assert_eq!(list["consecutiveFailures"], 0, "{list}");
    let failures = t
        .gql(seller, "{ pluginFailures { reason } }", json!({}))
        .await;
    assert_eq!(failures["pluginFailures"], json!([]));
}
on_both!(plugin_customer_text, customer_text);

/// A `claim_fees` module that writes its whole input, hex-encoded, into `message`.
fn echo() -> Vec<u8> {
    wat(r#"(module
  (import "oms" "log" (func $log (param i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "0123456789abcdef")
  (global $heap (mut i32) (i32.const 1024))
  (func (export "oms_contract_version") (result i32) (i32.const 1))
  (func (export "oms_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $len)))
    (local.get $p))
  (func (export "claim_fees") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32) (local $i i32) (local $b i32) (local $at i32)
    (local.set $out (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (i32.store (local.get $out) (i32.const 1))
    (i32.store offset=4 (local.get $out) (i32.const 3))
    (i64.store offset=8 (local.get $out) (i64.const 0))
    (i64.store offset=16 (local.get $out) (i64.const 0))
    (i32.store offset=24 (local.get $out) (i32.const 32))
    (i32.store offset=28 (local.get $out) (i32.shl (local.get $len) (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $b (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $at (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1))))
      (i32.store8 offset=32 (local.get $at) (i32.load8_u (i32.shr_u (local.get $b) (i32.const 4))))
      (i32.store8 offset=33 (local.get $at) (i32.load8_u (i32.and (local.get $b) (i32.const 15))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.add (i32.const 32) (i32.shl (local.get $len) (i32.const 1)))))))"#)
}

/// The numeric id of a global id.
fn id_of(gid: &str) -> i64 {
    gid.rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a global id")
}

/// On an order shared by two sellers, a plugin's input carries its own seller's lines and
/// earlier claims and nothing of the other seller's: an echoing plugin's output, the claim
/// record and what its seller reads show none of it.
async fn own_seller_only(t: TestApp) {
    let a = t.seller("판매자A", 3000, 50000, 3000).await;
    let b = t.seller("판매자B", 2500, 30000, 2500).await;
    let (oa, ob) = (t.option(a, 10000, 10).await, t.option(b, 20000, 10).await);
    let c = t.customer(0).await;
    let customer = t.token(Role::Customer, &c.to_string());
    let seller_a = t.token(Role::Seller, &a.to_string());
    let order = OrderBuilder::by(&customer)
        .line(oa, 3)
        .line(ob, 3)
        .delivered(&t)
        .await;
    let (line_a, line_b) = (order.lines[0].clone(), order.lines[1].clone());
    // An earlier claim on each seller's line.
    for line in [&line_a, &line_b] {
        let d = ClaimBuilder::return_of(&order.number, line)
            .request(&t, &customer)
            .await;
        assert_eq!(d["userErrors"], json!([]), "{d}");
    }
    PluginBuilder::claim_fees(&echo())
        .activated(&t, &seller_a)
        .await;
    let d = ClaimBuilder::return_of(&order.number, &line_a)
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let fees = claim_fees(&t, &seller_a, &d["claim"]).await;
    assert_eq!(fees["policy"], "PLUGIN", "{fees}");
    let hex = fees["output"]["message"].as_str().expect("the echo");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let input = ClaimFeesInput::decode(&bytes).expect("the plugin's input");
    let (a_id, b_id) = (id_of(&line_a), id_of(&line_b));
    assert_eq!(
        input.items.iter().map(|i| i.line_id).collect::<Vec<_>>(),
        [a_id]
    );
    assert!(
        !input.earlier_claims.is_empty(),
        "its own earlier claim is there"
    );
    assert!(
        input.earlier_claims.iter().all(|e| e.line_id == a_id),
        "no other seller's claim: {:?} (other seller's line {b_id})",
        input.earlier_claims
    );
}
on_both!(plugin_own_seller_only, own_seller_only);

/// A module of `functions` small functions besides the contract's, as valid `Fees` prefix.
fn many_functions(functions: usize) -> Vec<u8> {
    let filler =
        "(func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))".repeat(functions);
    Fees {
        prefix: Box::leak(filler.into_boxed_str()),
        ..Fees::default()
    }
    .wasm()
}

/// `checkPlugin` of `wasm` for `CLAIM_FEES` as the caller of `token`: the payload.
async fn check_plugin(t: &TestApp, token: &str, wasm: &[u8]) -> Value {
    const CHECK: &str = "mutation($input: CheckPluginInput!) { checkPlugin(input: $input) { check { sha256 sizeBytes samples { input output failure { reason } fuelUsed } } userErrors { code field message } } }";
    let encoded = base64::engine::general_purpose::STANDARD.encode(wasm);
    t.gql(
        token,
        CHECK,
        json!({"input": {"hook": "CLAIM_FEES", "wasmBase64": encoded}}),
    )
    .await["checkPlugin"]
        .clone()
}

/// Compile bombs are refused by the static shape limits before anything compiles: fast,
/// stored nowhere, compiled nowhere. The checks without storing, and the quotas on them.
async fn compile_bombs(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let seller = &shop.seller.token;
    let encode = |wasm: &[u8]| base64::engine::general_purpose::STANDARD.encode(wasm);
    // Past the default limit (the contract's own four functions count too), and a bomb.
    let limit = oms::plugin::ModuleShape::default().functions as usize;
    for functions in [limit - 4 + 1, 60_000] {
        let wasm = many_functions(functions);
        let started = Instant::now();
        let d = check_plugin(&t, seller, &wasm).await;
        assert_eq!(d["userErrors"][0]["code"], "PLUGIN_INVALID", "{d}");
        let message = d["userErrors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!(
                "has {} functions; the limit is {limit}",
                functions + 4
            )),
            "{message}"
        );
        // A debug build's compile of this module would take minutes; reading it takes moments.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "refused before compiling"
        );
        assert!(t.app.plugins.cached(&PluginHost::sha256(&wasm)).is_none());
    }
    // An ordinary module passes, with an evaluation of each sample.
    let d = check_plugin(&t, seller, &example("whole-set-bulky")).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(
        d["check"]["samples"].as_array().map(Vec::len),
        Some(4),
        "{d}"
    );
    assert!(
        d["check"]["samples"][1]["input"]["claimType"].is_string(),
        "{d}"
    );
    let list = t.gql(seller, PLUGINS, json!({})).await;
    assert_eq!(list["plugins"], json!([]), "a check stores nothing");
    // A bomb inside every static limit, on a replica whose budget a debug build reaches: the
    // compile is stopped at the budget, refused, and nothing is stored or kept.
    let strict = t.replica_with_plugin_limits(PluginLimits {
        compile_budget: Duration::from_millis(500),
        deadline: Duration::from_secs(1),
        ..PluginLimits::default()
    });
    let bomb = loop_bomb(100);
    let started = Instant::now();
    let d = check_plugin(&strict, seller, &bomb).await;
    assert_eq!(d["userErrors"][0]["code"], "PLUGIN_INVALID", "{d}");
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("took more than 500 ms to compile")),
        "{d}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at the budget"
    );
    assert!(strict
        .app
        .plugins
        .cached(&PluginHost::sha256(&bomb))
        .is_none());
    let d = PluginBuilder::claim_fees(&bomb)
        .upload(&strict, seller)
        .await;
    assert_eq!(d["userErrors"][0]["code"], "PLUGIN_INVALID", "{d}");
    assert_eq!(
        t.gql(seller, PLUGINS, json!({})).await["plugins"],
        json!([])
    );
    // A token of a seller that does not exist: not found, not an internal error.
    let ghost = t.token(Role::Seller, "999999");
    let d = PluginBuilder::claim_fees(&example("free-size-exchange"))
        .upload(&t, &ghost)
        .await;
    assert_eq!(d["userErrors"][0]["code"], "NOT_FOUND", "{d}");

    // A raw module and the default, dry-run side by side.
    let run = "mutation($input: DryRunPluginInput!) { dryRunPlugin(input: $input) { evaluation { output failure { reason } } userErrors { code message } } }";
    let input = serde_json::to_value(oms::plugin::samples::claim_fees()).unwrap();
    let raw = t
        .gql(seller, run, json!({"input": {"hook": "CLAIM_FEES", "wasmBase64": encode(&example("free-size-exchange")), "input": input}}))
        .await["dryRunPlugin"]
        .clone();
    assert_eq!(raw["evaluation"]["output"]["exchangeFee"], 0, "{raw}");
    let default = t
        .gql(
            seller,
            run,
            json!({"input": {"hook": "CLAIM_FEES", "defaultPolicy": true, "input": input}}),
        )
        .await["dryRunPlugin"]
        .clone();
    assert_eq!(
        default["evaluation"]["output"]["exchangeFee"], 6000,
        "{default}"
    );
    let neither = t
        .gql(
            seller,
            run,
            json!({"input": {"hook": "CLAIM_FEES", "input": input}}),
        )
        .await["dryRunPlugin"]
        .clone();
    assert_eq!(
        neither["userErrors"][0]["code"], "INVALID_INPUT",
        "{neither}"
    );
    let mut cancel = input.clone();
    cancel["claimType"] = json!("CANCEL");
    let never = t
        .gql(
            seller,
            run,
            json!({"input": {"hook": "CLAIM_FEES", "defaultPolicy": true, "input": cancel}}),
        )
        .await["dryRunPlugin"]
        .clone();
    assert_eq!(
        never["userErrors"][0]["code"], "INVALID_PLUGIN_INPUT",
        "{never}"
    );
    assert!(never["userErrors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("never CANCEL")));
    // Dry runs of the default are counted: 30 at once (three were just used), then refused.
    let mut refused = None;
    for i in 3..40 {
        let d = t
            .gql(
                seller,
                run,
                json!({"input": {"hook": "CLAIM_FEES", "defaultPolicy": true, "input": input}}),
            )
            .await["dryRunPlugin"]
            .clone();
        if d["userErrors"] != json!([]) {
            refused = Some((i, d));
            break;
        }
    }
    // Exactly the 31st when the dry runs are quick; a slow machine earns one back per 200 ms
    // (the exact limit is `service::quota`'s unit test, on a clock of its own).
    let (at, d) = refused.expect("the quota refuses a flood");
    assert!((30..40).contains(&at), "refused after {at} dry runs: {d}");
    assert_eq!(d["userErrors"][0]["code"], "RATE_LIMITED");
}
on_both!(plugin_compile_bombs, compile_bombs);

/// A replica that has not compiled a seller's active plugin compiles it before the claim's
/// transaction: meanwhile another seller's claim on the same replica goes through at once
/// (on SQLite, a compile inside a transaction would hold the one write lock).
async fn cold_replica(t: TestApp) {
    let shop = ShopBuilder::new().name("slow").build(&t).await;
    let other = ShopBuilder::new().name("other").build(&t).await;
    let slow_order = OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let other_order = OrderBuilder::new(&other).quantity(2).delivered(&t).await;
    // A module that takes a while to compile (a debug build compiles slowly).
    let wasm = many_functions(400);
    PluginBuilder::claim_fees(&wasm)
        .activated(&t, &shop.seller.token)
        .await;
    let replica = std::sync::Arc::new(t.replica());
    assert!(replica
        .app
        .plugins
        .cached(&PluginHost::sha256(&wasm))
        .is_none());
    let slow = {
        let (replica, token) = (replica.clone(), shop.customer().token.clone());
        let ret = ClaimBuilder::return_of(&slow_order.number, slow_order.line());
        tokio::spawn(async move {
            let d = ret.request(&replica, &token).await;
            (d, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let d = ClaimBuilder::return_of(&other_order.number, other_order.line())
        .request(&replica, &other.customer().token)
        .await;
    let other_done = Instant::now();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let (d, slow_done) = slow.await.unwrap();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(
        claim_fees(&replica, &shop.customer().token, &d["claim"]).await["policy"],
        "PLUGIN"
    );
    assert!(
        other_done < slow_done,
        "the other seller's claim waited for the compile"
    );
    assert!(replica
        .app
        .plugins
        .cached(&PluginHost::sha256(&wasm))
        .is_some());
    // A replica started after the activation compiles the active module before any claim.
    let fresh = t.replica();
    assert_eq!(oms::service::plugins::warm(&fresh.app).await.unwrap(), 1);
    assert!(fresh
        .app
        .plugins
        .cached(&PluginHost::sha256(&wasm))
        .is_some());
    assert_eq!(
        oms::service::plugins::warm(&fresh.app).await.unwrap(),
        0,
        "once"
    );
}
on_both!(plugin_cold_replica, cold_replica);

/// The static shape limits at the limit and one past it (a host with small limits, so a debug
/// build compiles the module at the limit quickly).
#[test]
fn shape_limits_at_and_past_the_limit() {
    use oms::plugin::ModuleShape;
    let host = PluginHost::new(PluginLimits {
        shape: ModuleShape {
            functions: 54,
            ..ModuleShape::default()
        },
        deadline: Duration::from_secs(1),
        ..PluginLimits::default()
    })
    .unwrap();
    assert!(host
        .check(&many_functions(50), PolicyHook::ClaimFees)
        .is_ok());
    let refused = host
        .check(&many_functions(51), PolicyHook::ClaimFees)
        .err()
        .expect("one function past the limit");
    assert_eq!(
        refused.to_string(),
        "the module has 55 functions; the limit is 54"
    );
    // Calls in the whole module: `Fees` makes one (its recursion), each filler one more.
    let calling = |n: usize| {
        let filler = "(func (call $log (i32.const 0) (i32.const 0)))".repeat(n);
        Fees {
            prefix: Box::leak(filler.into_boxed_str()),
            ..Fees::default()
        }
        .wasm()
    };
    let few_calls = PluginHost::new(PluginLimits {
        shape: ModuleShape {
            calls: 10,
            ..ModuleShape::default()
        },
        deadline: Duration::from_secs(1),
        ..PluginLimits::default()
    })
    .unwrap();
    assert!(few_calls.check(&calling(9), PolicyHook::ClaimFees).is_ok());
    let refused = few_calls
        .check(&calling(10), PolicyHook::ClaimFees)
        .err()
        .expect("one call past the limit");
    assert_eq!(
        refused.to_string(),
        "the module has 11 calls; the limit is 10"
    );
    let deep = format!("{}{}", "(block ".repeat(129), ")".repeat(129));
    let nested = Fees {
        prefix: Box::leak(format!("(func {deep})").into_boxed_str()),
        ..Fees::default()
    }
    .wasm();
    let refused = host
        .check(&nested, PolicyHook::ClaimFees)
        .err()
        .expect("too deep");
    assert!(
        refused
            .to_string()
            .contains("blocks nested deeper than 128"),
        "{refused}"
    );
}

/// Nested loops, `br_table`s and many live values: a few kilobytes that keep the register
/// allocator busy far longer than any budget (seconds in an optimised build, more in a debug
/// one), inside every static limit.
fn loop_bomb(params: usize) -> Vec<u8> {
    let vars = params + 100;
    let depth = 6;
    let mut body = "(loop $l0 (loop $l1 (loop $l2 (loop $l3 (loop $l4 (loop $l5 ".to_owned();
    for b in 0..3 {
        for v in 0..vars {
            body.push_str(&format!(
                "(local.set {v} (i64.add (local.get {}) (local.get {})))",
                (v * 7 + b) % vars,
                (v * 13 + b + 1) % vars
            ));
        }
        let targets: String = (0..1_000)
            .map(|i| format!(" $l{}", (i + b) % depth))
            .collect();
        body.push_str(&format!(
            "(br_table{targets} $l0 (i32.wrap_i64 (local.get {b})))"
        ));
    }
    body.push_str("))))))");
    wat(&format!(
        r#"(module
  (import "oms" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "oms_contract_version") (result i32) (i32.const 1))
  (func (export "oms_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "claim_fees") (param i32 i32) (result i64) (i64.const 0))
  (func $bomb (param{}) (local{}) {body}))"#,
        " i64".repeat(params),
        " i64".repeat(100)
    ))
}

/// A compile that overruns the budget is stopped there — the worker is killed — and nothing is
/// kept; parameters count as locals.
#[test]
fn a_compile_bomb_is_stopped_at_the_budget() {
    let budget = Duration::from_millis(500);
    let host = crate::harness::new_plugin_host(PluginLimits {
        compile_budget: budget,
        ..PluginLimits::default()
    });
    let bomb = loop_bomb(100);
    assert!(bomb.len() < 20_000, "{} bytes", bomb.len());
    let started = Instant::now();
    match host.check(&bomb, PolicyHook::ClaimFees) {
        Err(e @ PluginError::CompileBudget { .. }) => {
            assert!(e.to_string().contains("more than 500 ms to compile"), "{e}");
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("the bomb compiled within {budget:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped at the budget, not at the end of the compile: {:?}",
        started.elapsed()
    );
    assert!(host.cached(&PluginHost::sha256(&bomb)).is_none());
    // Parameters are locals: 901 parameters and 100 locals are one past the limit.
    let refused = host
        .check(&loop_bomb(901), PolicyHook::ClaimFees)
        .err()
        .expect("too many locals");
    assert!(
        refused
            .to_string()
            .contains("1001 locals (parameters included); the limit is 1000"),
        "{refused}"
    );
}

/// The compile budget is kept: a compile that overruns it is refused and nothing is cached.
/// The cache is bounded and evicts what is not active first; refused modules never enter it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_budget_and_a_bounded_cache() {
    let tight = std::sync::Arc::new(
        PluginHost::new(PluginLimits {
            compile_budget: Duration::from_micros(1),
            ..PluginLimits::default()
        })
        .unwrap(),
    );
    let wasm = example("free-size-exchange");
    match tight
        .check_queued(wasm.clone(), PolicyHook::ClaimFees)
        .await
    {
        Err(PluginError::CompileBudget { took, budget }) => assert!(took > budget),
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("a compile over the budget was accepted"),
    }
    assert!(tight.cached(&PluginHost::sha256(&wasm)).is_none());

    let host = std::sync::Arc::new(
        PluginHost::new(PluginLimits {
            cache_modules: 2,
            deadline: Duration::from_secs(1),
            ..PluginLimits::default()
        })
        .unwrap(),
    );
    let modules: Vec<Vec<u8>> = (1..=3)
        .map(|i| {
            Fees {
                threshold: 1_780_000_000 + i,
                ..Fees::default()
            }
            .wasm()
        })
        .collect();
    let sha = |i: usize| PluginHost::sha256(&modules[i]);
    host.check_queued(modules[0].clone(), PolicyHook::ClaimFees)
        .await
        .unwrap();
    host.set_active([sha(0)].into_iter().collect());
    for m in &modules[1..] {
        host.check_queued(m.clone(), PolicyHook::ClaimFees)
            .await
            .unwrap();
    }
    assert_eq!(host.compiled_count().0, 2);
    assert!(host.cached(&sha(0)).is_some(), "the active module stays");
    assert!(
        host.cached(&sha(1)).is_none(),
        "the oldest inactive one went"
    );
    assert!(host.cached(&sha(2)).is_some());
    // A module refused at its smoke evaluation is not kept.
    let failing = Fees {
        threshold: 0,
        misbehave: "unreachable",
        ..Fees::default()
    }
    .wasm();
    assert!(host
        .check_queued(failing.clone(), PolicyHook::ClaimFees)
        .await
        .is_err());
    assert!(host.cached(&PluginHost::sha256(&failing)).is_none());
}

/// Only the guest's own failures count toward its circuit breaker; a deadline counts only
/// when the guest had burnt half its fuel.
#[test]
fn what_counts_against_a_plugin() {
    use oms::plugin::{Failure, FailureReason as R};
    let f = |reason, fuel_used| Failure {
        reason,
        message: String::new(),
        fuel_used,
    };
    for reason in R::ALL {
        let counts = f(*reason, 0).counts_against_plugin(1_000);
        let expected = !matches!(reason, R::InputTooLarge | R::Unavailable | R::Deadline);
        assert_eq!(counts, expected, "{reason:?}");
    }
    assert!(!f(R::Deadline, 499).counts_against_plugin(1_000));
    assert!(f(R::Deadline, 500).counts_against_plugin(1_000));
}

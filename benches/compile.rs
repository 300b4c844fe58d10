//! Plugin compile costs at the static shape limits (`cargo bench --bench compile`): the worst
//! modules `ModuleShape` accepts, compiled with the server's engine, and a flood of them
//! through the compile queue, with the process's resident memory.
//!
//! 1. Each worst-case shape alone: upload check time (read, compile, samples) and peak RSS.
//! 2. The examples, for scale.
//! 3. A flood: `--flood N` (default 24) concurrent checks of distinct worst modules through the
//!    compile queue, as uploads would go: how many were refused as busy, the slowest, and the
//!    peak and final resident memory against the 512 MiB ceiling; then the other sellers'
//!    evaluations during the flood (p50/p99 of a warm evaluation).
//!
//! The shapes: `many` (the most functions, each as large as the module size allows), `wide`
//! (the largest bodies with the most locals, all live), `deep` (the deepest nesting with the
//! widest `br_table`s), `calls` and `indirect` (the most calls, direct or through a table, the
//! rest of the module arithmetic). They are what the compile time grows with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/api/wasm.rs"]
mod wasm;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oms::domain::policy::PolicyHook;
use oms::plugin::{samples, Compiler, ModuleShape, PluginError, PluginHost, PluginLimits};
use oms_policy_sdk::FeeDecision;

/// The contract's part: a valid `claim_fees` that returns a constant decision.
const CONTRACT: &str = r#"
  (import "oms" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "oms_contract_version") (result i32) (i32.const 1))
  (func (export "oms_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))
    (global.set $heap (i32.add (local.get $p) (local.get $len)))
    (local.get $p))
  (func (export "claim_fees") (param i32 i32) (result i64)
    (i32.store (i32.const 512) (i32.const 1))
    (i32.store (i32.const 516) (i32.const 3))
    (i64.store (i32.const 520) (i64.const 3000))
    (i64.store (i32.const 528) (i64.const 0))
    (i64.store (i32.const 536) (i64.const 0))
    (i64.const 2199023255584))
"#;

/// A module of `functions` bodies made by `body(i)`, with a tag so each is distinct.
fn module(tag: usize, functions: usize, body: impl Fn(usize) -> String) -> Vec<u8> {
    let mut text = format!("(module {CONTRACT}");
    for i in 0..functions {
        text.push_str(&body(i));
    }
    write!(text, "(@custom \"tag\" \"{tag}\"))").unwrap();
    wasm::wat(&text)
}

/// The most functions the shape allows, each filling its share of the module size.
fn many(tag: usize, shape: &ModuleShape, module_bytes: usize) -> Vec<u8> {
    let functions = shape.functions as usize - 3;
    let per = module_bytes / functions;
    // `i64.add` of two locals and a constant: 7 bytes a step.
    let steps = per.saturating_sub(40) / 7;
    module(tag, functions, |_| {
        let mut f = String::from("(func (param i64) (result i64) (local i64) ");
        for _ in 0..steps {
            f.push_str("(local.set 1 (i64.add (local.get 1) (i64.const 7)))");
        }
        f.push_str("(local.get 1))");
        f
    })
}

/// The largest bodies, each with the most locals, all live to the end (seeded from a
/// parameter, so the compiler cannot fold them to constants).
fn wide(tag: usize, shape: &ModuleShape, module_bytes: usize) -> Vec<u8> {
    // The parameter counts as a local.
    let locals = shape.locals as usize - 1;
    let functions = (module_bytes / shape.function_bytes as usize).max(1);
    module(tag, functions, |_| {
        let mut f = format!(
            "(func (param i64) (result i64) (local{})",
            " i64".repeat(locals)
        );
        for l in 1..=locals {
            write!(f, "(local.set {l} (i64.add (local.get 0) (i64.const {l})))").unwrap();
        }
        let mut size = 10 * locals;
        let mut i = 0;
        // local[a] = local[b] * local[c] + i: long chains of values that stay live.
        while size + 16 < shape.function_bytes as usize - 4 * locals {
            let a = 1 + i % locals;
            let b = 1 + (i + locals - 1) % locals;
            let c = 1 + (i + locals - 7) % locals;
            write!(
                f,
                "(local.set {a} (i64.add (i64.mul (local.get {b}) (local.get {c})) (i64.const {i})))"
            )
            .unwrap();
            size += 16;
            i += 1;
        }
        f.push_str("(local.get 0)");
        for l in 1..=locals {
            write!(f, "(i64.add (local.get {l}))").unwrap();
        }
        f.push(')');
        f
    })
}

/// The deepest nesting, with the widest `br_table` at the bottom, repeated to fill a body.
fn deep(tag: usize, shape: &ModuleShape, module_bytes: usize) -> Vec<u8> {
    let nesting = shape.nesting as usize - 1;
    let targets: String = (0..shape.br_table_targets as usize)
        .map(|i| format!(" {}", i % nesting))
        .collect();
    let nest = format!(
        "{}(br_table{targets} (local.get 0)){}",
        "(block ".repeat(nesting),
        ")".repeat(nesting)
    );
    let per_body = (shape.function_bytes as usize / (nest.len() / 3 + 1)).max(1);
    let functions = (module_bytes / shape.function_bytes as usize).max(1);
    module(tag, functions, |_| {
        format!("(func (param i32) {})", nest.repeat(per_body))
    })
}

/// The most calls the shape allows, spread over the most functions, each body filled up
/// with arithmetic to the module size; `indirect` makes them `call_indirect`s through a table
/// of every function.
fn calls_of(tag: usize, shape: &ModuleShape, module_bytes: usize, indirect: bool) -> Vec<u8> {
    let functions = shape.functions as usize - 3;
    let per_body = (shape.calls as usize - 10) / functions;
    let steps = (module_bytes / functions).saturating_sub(40 + per_body * 6) / 7;
    let mut text = format!("(module {CONTRACT}");
    if indirect {
        write!(
            text,
            "(type $t (func (param i64) (result i64))) (table {functions} funcref) \
             (elem (i32.const 0) func{})",
            (0..functions)
                .map(|i| format!(" {}", 4 + i))
                .collect::<String>()
        )
        .unwrap();
    }
    for i in 0..functions {
        text.push_str("(func (param i64) (result i64) (local i64) ");
        for s in 0..per_body {
            // Calls only to earlier functions, so nothing recurses.
            let callee = (i + s) % (i + 1);
            if indirect {
                write!(
                    text,
                    "(local.set 1 (call_indirect (type $t) (local.get 1) (i32.const {callee})))"
                )
                .unwrap();
            } else {
                write!(text, "(local.set 1 (call {} (local.get 1)))", 4 + callee).unwrap();
            }
        }
        for _ in 0..steps {
            text.push_str("(local.set 1 (i64.add (local.get 1) (i64.const 7)))");
        }
        text.push_str("(local.get 1))");
    }
    write!(text, "(@custom \"tag\" \"{tag}\"))").unwrap();
    wasm::wat(&text)
}

/// Nested loops and `br_table`s over many live values: a few kilobytes inside every static
/// limit that the register allocator takes far longer than the budget over (tens of seconds).
/// The worker is stopped at the budget.
fn loops(tag: usize, _: &ModuleShape, _: usize) -> Vec<u8> {
    let (vars, depth) = (200, 8);
    let mut body: String = (0..depth).map(|d| format!("(loop $l{d} ")).collect();
    for b in 0..4 {
        for v in 0..vars {
            write!(
                body,
                "(local.set {v} (i64.add (local.get {}) (local.get {})))",
                (v * 7 + b) % vars,
                (v * 13 + b + 1) % vars
            )
            .unwrap();
        }
        let targets: String = (0..1_000)
            .map(|i| format!(" $l{}", (i + b) % depth))
            .collect();
        write!(
            body,
            "(br_table{targets} $l0 (i32.wrap_i64 (local.get {b})))"
        )
        .unwrap();
    }
    body.push_str(&")".repeat(depth));
    module(tag, 1, |_| {
        format!("(func (local{}) {body})", " i64".repeat(vars))
    })
}

fn calls(tag: usize, shape: &ModuleShape, module_bytes: usize) -> Vec<u8> {
    calls_of(tag, shape, module_bytes, false)
}

fn indirect(tag: usize, shape: &ModuleShape, module_bytes: usize) -> Vec<u8> {
    calls_of(tag, shape, module_bytes, true)
}

fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

type Shape = fn(usize, &ModuleShape, usize) -> Vec<u8>;

fn main() {
    let flood: usize = std::env::args()
        .skip_while(|a| a != "--flood")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let limits = PluginLimits::default();
    // As the server does: each compile tried first in a worker of the `oms` binary.
    let worker = Compiler::Worker(env!("CARGO_BIN_EXE_oms").into());
    let host = Arc::new(PluginHost::with_compiler(limits.clone(), worker).unwrap());
    let size = limits.module_bytes - 4096;
    let shapes: [(&str, Shape); 6] = [
        ("many", many),
        ("wide", wide),
        ("deep", deep),
        ("calls", calls),
        ("indirect", indirect),
        ("loops", loops),
    ];
    println!(
        "limits: {} functions, {} B per body, {} locals, nesting {}, br_table {}, {} calls; \
         module {} B; compile budget {:?}, {} slot(s), queue {}",
        limits.shape.functions,
        limits.shape.function_bytes,
        limits.shape.locals,
        limits.shape.nesting,
        limits.shape.br_table_targets,
        limits.shape.calls,
        limits.module_bytes,
        limits.compile_budget,
        limits.compile_slots,
        limits.compile_queue
    );
    println!("\n1. the worst shapes alone (upload check: read, compile, samples)");
    let mut worst = Duration::ZERO;
    // OMS_BENCH_WRITE_DIR keeps the modules, to measure a worker's memory on its own.
    let keep = std::env::var_os("OMS_BENCH_WRITE_DIR").map(std::path::PathBuf::from);
    for (i, (name, make)) in shapes.iter().enumerate() {
        let bytes = make(i, &limits.shape, size);
        if let Some(dir) = &keep {
            std::fs::write(dir.join(format!("{name}.wasm")), &bytes).unwrap();
        }
        let started = Instant::now();
        let outcome = host.check(&bytes, PolicyHook::ClaimFees);
        let took = started.elapsed();
        worst = worst.max(took);
        let (now, peak) = rss();
        println!(
            "  {name:<6} {:>8} B  {:>7.0} ms  {}  rss {now} MiB, peak {peak} MiB",
            bytes.len(),
            took.as_secs_f64() * 1e3,
            match &outcome {
                Ok(c) => format!("ok, {} KiB of code", c.plugin.code_bytes() / 1024),
                Err(e) => format!("REFUSED: {e}"),
            }
        );
    }
    println!(
        "  slowest {:.0} ms against the budget of {:?}",
        worst.as_secs_f64() * 1e3,
        limits.compile_budget
    );
    println!("\n2. the examples, for scale");
    for name in wasm::EXAMPLES {
        let bytes = wasm::example(name);
        let started = Instant::now();
        host.check(&bytes, PolicyHook::ClaimFees).unwrap();
        println!(
            "  {name:<20} {:>7} B  {:>6.1} ms",
            bytes.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    println!("\n3. a flood of {flood} concurrent uploads of distinct worst modules");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let modules: Vec<Vec<u8>> = (0..flood)
        .map(|i| shapes[i % shapes.len()].1(100 + i, &limits.shape, size))
        .collect();
    let (before, _) = rss();
    let good = host
        .check(&wasm::example("default-policy"), PolicyHook::ClaimFees)
        .unwrap()
        .plugin;
    let input = samples::claim_fees();
    runtime.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = modules
            .into_iter()
            .map(|bytes| {
                let host = host.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let r = host.check_queued(bytes, PolicyHook::ClaimFees).await;
                    (r.map(drop), t.elapsed())
                })
            })
            .collect();
        // Another seller's evaluations meanwhile.
        let mut evaluations = Vec::new();
        let mut missed = 0;
        let mut peak = 0;
        while tasks.iter().any(|t| !t.is_finished()) {
            let (out, stats) = host
                .evaluate_blocking::<_, FeeDecision>(
                    good.clone(),
                    PolicyHook::ClaimFees,
                    input.clone(),
                )
                .await;
            if out.is_err() {
                missed += 1;
            }
            evaluations.push(stats.elapsed);
            peak = peak.max(rss().0);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut accepted = 0;
        let mut busy = 0;
        let mut slowest = Duration::ZERO;
        for t in tasks {
            let (r, took) = t.await.unwrap();
            slowest = slowest.max(took);
            match r {
                Ok(()) => accepted += 1,
                Err(PluginError::Busy) => busy += 1,
                Err(e) => println!("  refused: {e}"),
            }
        }
        evaluations.sort();
        let pct = |p: usize| evaluations[(evaluations.len() - 1) * p / 100];
        let (after, hwm) = rss();
        println!(
            "  {accepted} accepted, {busy} refused as busy, in {:.1} s; the slowest waited {:.1} s",
            started.elapsed().as_secs_f64(),
            slowest.as_secs_f64()
        );
        println!(
            "  resident memory: {before} MiB before, peak {peak} MiB sampled ({hwm} MiB high-water \
             mark of the whole run), {after} MiB after; ceiling 512 MiB"
        );
        println!(
            "  another seller's warm evaluation during the flood: p50 {:?}, p99 {:?} ({} runs, \
             {missed} past the deadline)",
            pct(50),
            pct(99),
            evaluations.len()
        );
        let (cached, bytes) = host.compiled_count();
        println!("  cache: {cached} modules, {} KiB of code", bytes / 1024);
    });
}

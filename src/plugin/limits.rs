//! The sandbox's limits, at least as strict as Shopify Functions' by default.

use std::time::Duration;

/// The most fuel an operator may allow per evaluation.
pub const MAX_FUEL: u64 = 11_000_000;

/// The default cap on what a plugin may decide for one claim: ten times a typical 5,000-won
/// one-way return fee, so a bulky item's round trip fits and a runaway plugin cannot leave a
/// customer owing a fortune.
pub const DEFAULT_FEE_CAP: i64 = 50_000;

/// The compile budget. Measured on an optimised build (BENCHMARKS.md, "Plugin compile"); a
/// debug build's compiler is some fifty times slower, so its budget is scaled to match
/// (tests exercise the budget with limits of their own).
pub const DEFAULT_COMPILE_BUDGET: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(120)
} else {
    Duration::from_secs(3)
};

/// The highest fee cap an operator may set.
pub const MAX_FEE_CAP: i64 = 1_000_000;

/// Limits of one evaluation, and of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    /// Fuel (roughly, WebAssembly instructions) per evaluation.
    pub fuel: u64,
    /// Wall-clock deadline per evaluation, enforced by epoch interruption.
    pub deadline: Duration,
    /// Linear memory cap.
    pub memory_bytes: usize,
    /// Call stack cap (deep recursion traps with STACK_OVERFLOW).
    pub stack_bytes: usize,
    /// Module size cap at upload.
    pub module_bytes: usize,
    /// Input document cap.
    pub input_bytes: usize,
    /// Output document cap.
    pub output_bytes: usize,
    /// Log kept per evaluation.
    pub log_bytes: usize,
    /// The most a plugin may decide for one claim, in won: each fee it returns and their sum.
    /// Anything above is a `BAD_OUTPUT` failure and the default decides.
    pub fee_cap: i64,
    /// The shape a module may have, checked before it compiles.
    pub shape: ModuleShape,
    /// The longest a compile may take; one that overruns is refused and nothing is cached.
    pub compile_budget: Duration,
    /// Compiles running at once in this process; the rest wait in the queue.
    pub compile_slots: usize,
    /// Compiles waiting beyond the running ones; past this an upload is refused as busy.
    pub compile_queue: usize,
    /// Compiled code kept in this process, in bytes; the least recently used module that is
    /// not active is evicted first.
    pub cache_bytes: usize,
    /// Compiled modules kept in this process.
    pub cache_modules: usize,
}

/// Static limits on a module, checked (by reading it, not compiling it) before anything
/// compiles it. Compile time grows with what they bound, so they are chosen so that the worst
/// module they accept compiles well within the compile budget (BENCHMARKS.md, "Plugin
/// compile", measures it); a policy built with the Rust SDK uses a small fraction of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleShape {
    /// Functions the module defines.
    pub functions: u32,
    /// Bytes of one function's body.
    pub function_bytes: u32,
    /// Locals one function declares (parameters included).
    pub locals: u32,
    /// Depth of nested blocks, loops and ifs in one function.
    pub nesting: u32,
    /// Targets of one `br_table`.
    pub br_table_targets: u32,
    /// Calls (direct, indirect and tail) in the whole module: the costliest instruction to
    /// compile, about 11 µs each.
    pub calls: u32,
    /// Tables (at most one) and their elements.
    pub table_elements: u64,
    /// Globals.
    pub globals: u32,
    /// Function types.
    pub types: u32,
    /// Data and element segments, together.
    pub segments: u32,
}

impl Default for ModuleShape {
    fn default() -> ModuleShape {
        ModuleShape {
            functions: 1_000,
            function_bytes: 64 << 10,
            locals: 1_000,
            nesting: 128,
            br_table_targets: 1_000,
            calls: 5_000,
            table_elements: 10_000,
            globals: 1_000,
            types: 1_000,
            segments: 1_000,
        }
    }
}

impl Default for PluginLimits {
    fn default() -> PluginLimits {
        PluginLimits {
            fuel: 2_000_000,
            deadline: Duration::from_millis(5),
            memory_bytes: 16 << 20,
            stack_bytes: 256 << 10,
            module_bytes: 1 << 20,
            input_bytes: 128 << 10,
            output_bytes: 20 << 10,
            log_bytes: 1024,
            fee_cap: DEFAULT_FEE_CAP,
            shape: ModuleShape::default(),
            compile_budget: DEFAULT_COMPILE_BUDGET,
            compile_slots: 1,
            compile_queue: 4,
            cache_bytes: 64 << 20,
            cache_modules: 256,
        }
    }
}

impl PluginLimits {
    /// The defaults with an operator's fuel, deadline and fee cap, checked against the hard
    /// ceilings.
    pub fn with(fuel: u64, deadline_ms: u64, fee_cap: i64) -> Result<PluginLimits, String> {
        if fuel == 0 || fuel > MAX_FUEL {
            return Err(format!(
                "plugin fuel must be between 1 and {MAX_FUEL}, not {fuel}"
            ));
        }
        if deadline_ms == 0 || deadline_ms > 1000 {
            return Err(format!(
                "the plugin deadline must be between 1 and 1000 ms, not {deadline_ms}"
            ));
        }
        if !(0..=MAX_FEE_CAP).contains(&fee_cap) {
            return Err(format!(
                "the plugin fee cap must be between 0 and {MAX_FEE_CAP} won, not {fee_cap}"
            ));
        }
        Ok(PluginLimits {
            fuel,
            deadline: Duration::from_millis(deadline_ms),
            fee_cap,
            ..PluginLimits::default()
        })
    }
}

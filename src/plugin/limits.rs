//! The sandbox's limits, at least as strict as Shopify Functions' by default.

use std::time::Duration;

/// The most fuel an operator may allow per evaluation.
pub const MAX_FUEL: u64 = 11_000_000;

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
        }
    }
}

impl PluginLimits {
    /// The defaults with an operator's fuel and deadline, checked against the hard ceilings.
    pub fn with(fuel: u64, deadline_ms: u64) -> Result<PluginLimits, String> {
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
        Ok(PluginLimits {
            fuel,
            deadline: Duration::from_millis(deadline_ms),
            ..PluginLimits::default()
        })
    }
}

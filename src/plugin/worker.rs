//! Compiling in a child process, so that a compile which overruns its budget can be stopped.
//!
//! Cranelift cannot be interrupted inside a thread, and static limits on a module's shape do
//! not bound its compile time: a few kilobytes of nested loops, `br_table`s and many live
//! values keep the register allocator busy for minutes. So the server first compiles each new
//! module in a child (`oms plugin compile-worker`, the same binary and engine configuration)
//! and kills it when the budget runs out; the child's memory goes with it. Only a module the
//! child compiled within the budget is then compiled in the server itself — compiling is
//! deterministic, so that takes as long again — and nothing compiled elsewhere is ever loaded
//! (no deserialization, no `unsafe`). The static limits stay as the cheap first filter.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Module};

use super::{engine_config, PluginError, PluginLimits};

/// How a host keeps a compile within its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiler {
    /// On the calling thread. The budget is checked when the compile ends, so a module that
    /// compiles for minutes holds a core for minutes: for tools and tests without the `oms`
    /// binary at hand.
    InProcess,
    /// Tried first in a child process of this program (`oms plugin compile-worker`), killed
    /// when the budget runs out; compiled on the calling thread only when the trial passed.
    Worker(PathBuf),
}

/// The most of a failed child's error output kept for the refusal.
const ERROR_BYTES: u64 = 2048;

/// How often the parent looks at the child.
const POLL: Duration = Duration::from_millis(2);

/// The worker's side: reads a module from stdin and compiles it with the host's engine
/// configuration; exits successfully when it compiles.
pub fn serve(memory_bytes: usize, stack_bytes: usize) -> Result<(), String> {
    let limits = PluginLimits {
        memory_bytes,
        stack_bytes,
        ..PluginLimits::default()
    };
    let engine = Engine::new(&engine_config(&limits)).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(limits.module_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the module: {e}"))?;
    Module::new(&engine, &bytes)
        .map(drop)
        .map_err(|e| format!("the module does not compile: {e}"))
}

/// Compiles `bytes` in a child of `program` and stops it when `budget` runs out: `Ok` when it
/// compiled within the budget, or why not.
pub fn trial(
    program: &PathBuf,
    limits: &PluginLimits,
    bytes: &[u8],
    budget: Duration,
) -> Result<(), PluginError> {
    let started = Instant::now();
    let unavailable =
        |e: std::io::Error| PluginError::Invalid(format!("the compiler could not be started: {e}"));
    let mut child = Command::new(program)
        // The worker needs none of the server's settings, and must not hold its secrets.
        .env_clear()
        .args(["plugin", "compile-worker", "--memory-bytes"])
        .arg(limits.memory_bytes.to_string())
        .arg("--stack-bytes")
        .arg(limits.stack_bytes.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(unavailable)?;
    // The pipes are fed and drained on threads of their own, so neither side blocks the other.
    let mut stdin = child.stdin.take();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(pipe) = stdin.as_mut() {
            // A child that died early closes its end; its exit status says why.
            let _ = pipe.write_all(&input);
        }
    });
    let mut stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.take(ERROR_BYTES).read_to_string(&mut out);
        }
        out
    });
    let status = loop {
        match child.try_wait().map_err(unavailable)? {
            Some(status) => break status,
            None if started.elapsed() > budget => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = (writer.join(), errors.join());
                return Err(PluginError::CompileBudget {
                    took: started.elapsed(),
                    budget,
                });
            }
            None => std::thread::sleep(POLL),
        }
    };
    let _ = writer.join();
    let message = errors.join().unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        let message = message.trim();
        Err(PluginError::Invalid(match message.strip_prefix("oms: ") {
            Some(m) => m.to_owned(),
            None if message.is_empty() => format!("the compiler failed ({status})"),
            None => message.to_owned(),
        }))
    }
}

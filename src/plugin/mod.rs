//! The policy plugin host (`policies.md`, "Sandbox"): checks uploaded modules, compiles them
//! once per process, and evaluates hooks in a fresh instance under a fuel budget, a wall-clock
//! deadline and memory, input, output and log caps.
//!
//! The guest gets nothing that reads the world: its one import is `oms.log`, and its input
//! carries `now`. Whatever a guest does — trap, loop, overflow its stack, grow memory without
//! bound, flood its log, return garbage — the evaluation ends with a [`Failure`] the caller
//! turns into a fallback to the built-in default; the host itself never panics on a guest.

mod cache;
mod limits;
pub mod offline;
mod queue;
mod validate;
pub mod worker;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oms_policy_sdk::{Document, ExchangeVerdict, FeeDecision, WindowVerdict, CONTRACT_VERSION};
use sha2::{Digest, Sha256};
use wasmtime::{
    Caller, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};

pub use limits::{ModuleShape, PluginLimits, DEFAULT_FEE_CAP, MAX_FEE_CAP};
pub use queue::Priority;
pub use worker::Compiler;

use cache::Cache;
use queue::Queue;

use crate::domain::policy::PolicyHook;

/// Why an uploaded module is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    /// Over the module size cap.
    #[error("the module is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// Not a module the contract accepts (the message names the problem).
    #[error("{0}")]
    Invalid(String),
    /// Built for a contract version this server does not accept.
    #[error(
        "contract version {0} is not supported; this server accepts version {CONTRACT_VERSION}"
    )]
    UnsupportedContract(i64),
    /// It checks out but an evaluation at upload fails.
    #[error("the smoke evaluation failed on {during}: {failure}")]
    SmokeFailed {
        /// Which call or sample input (e.g. "sample input 2 of 4 (a defective bulky return)").
        during: String,
        /// How it failed.
        failure: Failure,
    },
    /// Its compile took longer than the budget; nothing was kept.
    #[error(
        "the module took more than {} ms to compile (stopped after {} ms); make it simpler: \
         fewer or shorter functions, fewer live values in loops",
        budget.as_millis(),
        took.as_millis()
    )]
    CompileBudget {
        /// How long it took.
        took: Duration,
        /// The budget.
        budget: Duration,
    },
    /// The compile queue is full (other uploads are compiling); nothing was done.
    #[error("the server is compiling other plugins; try again in a few seconds")]
    Busy,
}

macro_rules! labelled_failure {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every reason.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Its stable name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
            /// The reason of a stable name.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

labelled_failure! {
    /// Why an evaluation failed.
    pub enum FailureReason {
        /// The guest trapped (`unreachable`, out-of-bounds access, a panic in the guest).
        Trap => "TRAP",
        /// It used up its fuel (instruction budget).
        OutOfFuel => "OUT_OF_FUEL",
        /// It ran past the wall-clock deadline.
        Deadline => "DEADLINE",
        /// It asked for more linear memory than the cap and then failed.
        MemoryLimit => "MEMORY_LIMIT",
        /// It overflowed its call stack.
        StackOverflow => "STACK_OVERFLOW",
        /// Its output breaks the contract (does not decode, unknown code, negative amount, ...).
        BadOutput => "BAD_OUTPUT",
        /// Its output is over the output cap.
        OutputTooLarge => "OUTPUT_TOO_LARGE",
        /// The input document is over the input cap (the plugin is not called).
        InputTooLarge => "INPUT_TOO_LARGE",
        /// It reports a contract version other than the server's.
        WrongContract => "WRONG_CONTRACT",
        /// It could not be loaded or instantiated (e.g. its initial memory is over the cap).
        Unavailable => "UNAVAILABLE",
    }
}

/// A failed evaluation: why, in words, and the fuel it burnt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", reason.as_str())]
pub struct Failure {
    /// Why.
    pub reason: FailureReason,
    /// What happened, for the seller's developer.
    pub message: String,
    /// Fuel used before it failed.
    pub fuel_used: u64,
}

impl Failure {
    /// Whether this failure is the plugin's own doing and counts toward its circuit breaker.
    /// What the guest did counts: a trap, fuel, memory, stack, a wrong contract version, an
    /// output that breaks the contract or a cap. What it did not do never does: an input over
    /// the cap (the customer's text and the order's size make the input, not the plugin), a
    /// module that is unavailable on this replica. A deadline counts only when the guest had
    /// burnt at least half of `fuel_budget` by then: fuel measures the guest's work, and a
    /// guest cut off with most of its fuel left was slowed by a loaded machine.
    pub fn counts_against_plugin(&self, fuel_budget: u64) -> bool {
        match self.reason {
            FailureReason::Trap
            | FailureReason::OutOfFuel
            | FailureReason::MemoryLimit
            | FailureReason::StackOverflow
            | FailureReason::BadOutput
            | FailureReason::OutputTooLarge
            | FailureReason::WrongContract => true,
            FailureReason::Deadline => self.fuel_used.saturating_mul(2) >= fuel_budget,
            FailureReason::InputTooLarge | FailureReason::Unavailable => false,
        }
    }
}

/// What one evaluation cost and logged, whatever its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationStats {
    /// Fuel (instructions) the guest used.
    pub fuel_used: u64,
    /// Wall-clock time of the whole evaluation (instantiate, write, call, read).
    pub elapsed: Duration,
    /// Of which instantiation.
    pub instantiate: Duration,
    /// The guest's log (the first `log_bytes` of it).
    pub log: String,
}

/// A module compiled for this process: its pre-instantiated template.
pub struct CompiledPlugin {
    sha256: String,
    template: InstancePre<GuestState>,
    code_bytes: usize,
}

impl CompiledPlugin {
    /// The SHA-256 of the module's bytes, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Bytes of compiled code and data it holds in memory.
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }
}

/// A module that passed the upload check, with the cost of each sample evaluation.
pub struct Checked {
    /// The module, compiled.
    pub plugin: Arc<CompiledPlugin>,
    /// One per sample input, in order.
    pub samples: Vec<EvaluationStats>,
}

/// What this process holds of a module.
pub enum Lookup {
    /// Compiled and ready.
    Ready(Arc<CompiledPlugin>),
    /// It failed to load here a moment ago (the failure is the plugin's evaluation failure).
    Refused(Failure),
    /// Not compiled here yet: compile it through the queue ([`PluginHost::load_queued`]).
    Missing,
}

/// What a store carries for one evaluation: the log and the memory cap.
struct GuestState {
    log: String,
    log_cap: usize,
    memory_cap: usize,
    memory_denied: bool,
}

impl ResourceLimiter for GuestState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

/// The host: one engine (with its epoch ticker), the linker that offers `oms.log`, the
/// compile queue, and the compiled modules of this process by SHA-256.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<GuestState>,
    compiler: Compiler,
    limits: PluginLimits,
    compiled: Mutex<Cache<Arc<CompiledPlugin>>>,
    compiles: Queue,
    /// Evaluations in flight are bounded by the instance pool.
    slots: Arc<tokio::sync::Semaphore>,
}

/// The engine's configuration: fuel, epochs, the stack and memory caps, the instance pool.
/// A compile worker builds its engine from the same, so the host can load what it compiled.
pub(crate) fn engine_config(limits: &PluginLimits) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(POOL_SLOTS)
        .total_memories(POOL_SLOTS)
        .total_tables(POOL_SLOTS)
        .max_memories_per_module(1)
        .max_memory_size(limits.memory_bytes)
        .table_elements(10_000)
        // Returning a slot's memory to the kernel (madvise, and the TLB shootdown it causes
        // on every core) was half of an evaluation's host cost; batching eight slots per call
        // cut the host overhead from ~6 µs to ~2.6 µs (BENCHMARKS.md).
        .decommit_batch_size(8);
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(limits.stack_bytes)
        // Small reservations keep the pool's address space modest; bounds checks are explicit
        // instead of relying on a 4 GiB guard region.
        .memory_reservation(limits.memory_bytes as u64)
        .memory_guard_size(64 * 1024)
        .memory_reservation_for_growth(0)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Instance slots of the pooling allocator: evaluations in flight at once per process.
const POOL_SLOTS: u32 = 64;

/// How often the epoch advances; the deadline is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(1);

impl PluginHost {
    /// A host with `limits`. Starts a thread that advances the engine's epoch every
    /// millisecond for as long as the engine lives.
    pub fn new(limits: PluginLimits) -> Result<PluginHost, String> {
        PluginHost::with_compiler(limits, Compiler::InProcess)
    }

    /// A host whose compiles are tried where `compiler` says: the server tries each in a child
    /// process of its own binary first, so a compile that overruns its budget is stopped.
    pub fn with_compiler(limits: PluginLimits, compiler: Compiler) -> Result<PluginHost, String> {
        let config = engine_config(&limits);
        let engine = Engine::new(&config).map_err(|e| e.to_string())?;
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("oms", "log", guest_log)
            .map_err(|e| e.to_string())?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(PluginHost {
            engine,
            linker,
            compiler,
            compiled: Mutex::new(Cache::new(limits.cache_bytes, limits.cache_modules)),
            compiles: Queue::new(
                limits.compile_slots,
                limits.compile_queue,
                limits.compile_budget,
            ),
            limits,
            slots: Arc::new(tokio::sync::Semaphore::new(POOL_SLOTS as usize)),
        })
    }

    /// The limits evaluations run under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// The SHA-256 of `bytes`, hex.
    pub fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The upload check, synchronously (`oms plugin check`; the server goes through
    /// [`PluginHost::check_queued`]): the module's shape without compiling it, then a compile
    /// within the budget, its contract version, and an evaluation of each of the hook's sample
    /// inputs, whose outputs must keep the contract and the fee cap. Nothing is cached.
    pub fn check(&self, bytes: &[u8], hook: PolicyHook) -> Result<Checked, PluginError> {
        validate::check(bytes, hook, &self.limits)?;
        let plugin = match self.cached(&Self::sha256(bytes)) {
            Some(plugin) => plugin,
            None => self.compile(bytes)?,
        };
        let version = self.contract_version(&plugin)?;
        if version != i64::from(CONTRACT_VERSION) {
            return Err(PluginError::UnsupportedContract(version));
        }
        let inputs = samples::inputs(hook);
        let mut stats = Vec::with_capacity(inputs.len());
        for (i, (about, input)) in inputs.iter().enumerate() {
            let (outcome, cost) = self.evaluate_bytes(&plugin, hook, input);
            outcome
                .and_then(|out| samples::check_output(hook, &out, &self.limits, cost.fuel_used))
                .map_err(|failure| PluginError::SmokeFailed {
                    during: format!("sample input {} of {} ({about})", i + 1, inputs.len()),
                    failure,
                })?;
            stats.push(cost);
        }
        Ok(Checked {
            plugin,
            samples: stats,
        })
    }

    /// [`PluginHost::check`] through the compile queue; a module that passes is kept compiled
    /// (a refused one never is). Refused as [`PluginError::Busy`] when the queue is full.
    pub async fn check_queued(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        hook: PolicyHook,
    ) -> Result<Checked, PluginError> {
        let host = self.clone();
        let checked = self
            .compiles
            .run(Priority::Upload, move || host.check(&bytes, hook))
            .await
            .map_err(|_| PluginError::Busy)?
            .ok_or(PluginError::Busy)??;
        self.keep(&checked.plugin);
        Ok(checked)
    }

    /// What this process holds of the module `sha256`.
    pub fn lookup(&self, sha256: &str) -> Lookup {
        let mut cache = self.cache();
        if let Some(plugin) = cache.get(sha256) {
            return Lookup::Ready(plugin);
        }
        match cache.refusal(sha256) {
            Some(failure) => Lookup::Refused(failure),
            None => Lookup::Missing,
        }
    }

    /// The compiled module of `sha256` if this process has it.
    pub fn cached(&self, sha256: &str) -> Option<Arc<CompiledPlugin>> {
        self.cache().get(sha256)
    }

    /// Compiles a stored module (checked at its upload) through the queue, waiting its turn,
    /// and keeps it; a module this process already has is returned at once. A module that
    /// fails to load is remembered for a minute ([`Lookup::Refused`]).
    pub async fn load_queued(
        self: &Arc<Self>,
        sha256: &str,
        bytes: Vec<u8>,
    ) -> Result<Arc<CompiledPlugin>, Failure> {
        if let Some(plugin) = self.cached(sha256) {
            return Ok(plugin);
        }
        let host = self.clone();
        let sha = sha256.to_owned();
        self.compiles
            .run(Priority::Needed, move || host.load(&sha, &bytes))
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Err(failure(
                    FailureReason::Unavailable,
                    "the compile was cancelled",
                    0,
                ))
            })
    }

    /// [`PluginHost::load_queued`] without the queue, on this thread.
    pub fn load(&self, sha256: &str, bytes: &[u8]) -> Result<Arc<CompiledPlugin>, Failure> {
        if let Some(plugin) = self.cached(sha256) {
            return Ok(plugin);
        }
        let loaded = if Self::sha256(bytes) != sha256 {
            Err(failure(
                FailureReason::Unavailable,
                "the stored module does not match its SHA-256",
                0,
            ))
        } else {
            // The shape again: the limits may have tightened since the upload.
            validate::check_shape(bytes, &self.limits)
                .and_then(|()| self.compile(bytes))
                .map_err(|e| {
                    failure(
                        FailureReason::Unavailable,
                        format!("the module no longer loads on this server: {e}"),
                        0,
                    )
                })
        };
        match loaded {
            Ok(plugin) => {
                self.keep(&plugin);
                Ok(plugin)
            }
            Err(f) => {
                self.cache().refuse(sha256, f.clone());
                Err(f)
            }
        }
    }

    /// Tells the cache which modules are some seller's active policy (evicted last).
    pub fn set_active(&self, sha256s: HashSet<String>) {
        self.cache().set_active(sha256s);
    }

    /// Modules compiled in this process, and the bytes of code they hold.
    pub fn compiled_count(&self) -> (usize, usize) {
        let cache = self.cache();
        (cache.len(), cache.bytes())
    }

    fn keep(&self, plugin: &Arc<CompiledPlugin>) {
        self.cache()
            .insert(&plugin.sha256, plugin.clone(), plugin.code_bytes);
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache<Arc<CompiledPlugin>>> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compiles within the budget: first on trial in a child process that is killed when the
    /// budget runs out ([`Compiler::Worker`]), then here; or only here, refused afterwards when
    /// it overran ([`Compiler::InProcess`]).
    fn compile(&self, bytes: &[u8]) -> Result<Arc<CompiledPlugin>, PluginError> {
        let budget = self.limits.compile_budget;
        if let Compiler::Worker(program) = &self.compiler {
            worker::trial(program, &self.limits, bytes, budget)?;
        }
        let started = Instant::now();
        let module = Module::new(&self.engine, bytes)
            .map_err(|e| PluginError::Invalid(format!("the module does not compile: {e}")))?;
        let took = started.elapsed();
        if took > budget {
            return Err(PluginError::CompileBudget { took, budget });
        }
        let image = module.image_range();
        let code_bytes = (image.end as usize).saturating_sub(image.start as usize);
        let template = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| PluginError::Invalid(format!("the module cannot be linked: {e}")))?;
        Ok(Arc::new(CompiledPlugin {
            sha256: Self::sha256(bytes),
            template,
            code_bytes,
        }))
    }

    fn store(&self) -> Store<GuestState> {
        let mut store = Store::new(
            &self.engine,
            GuestState {
                log: String::new(),
                log_cap: self.limits.log_bytes,
                memory_cap: self.limits.memory_bytes,
                memory_denied: false,
            },
        );
        store.limiter(|state| state);
        // Fuel is set per evaluation; a store that is never refuelled cannot run.
        let _ = store.set_fuel(self.limits.fuel);
        store.epoch_deadline_trap();
        let ticks = self
            .limits
            .deadline
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store
    }

    fn contract_version(&self, plugin: &CompiledPlugin) -> Result<i64, PluginError> {
        let mut store = self.store();
        let mut call = || -> wasmtime::Result<i32> {
            let instance = plugin.template.instantiate(&mut store)?;
            let version = instance.get_typed_func::<(), i32>(&mut store, "oms_contract_version")?;
            version.call(&mut store, ())
        };
        call().map(i64::from).map_err(|e| PluginError::SmokeFailed {
            during: "`oms_contract_version`".into(),
            failure: classify(e, 0, false),
        })
    }

    /// Evaluates `hook` on an encoded input in a fresh instance; returns the output document's
    /// bytes. Synchronous and bounded by the limits: call it off the async runtime.
    pub fn evaluate_bytes(
        &self,
        plugin: &CompiledPlugin,
        hook: PolicyHook,
        input: &[u8],
    ) -> (Result<Vec<u8>, Failure>, EvaluationStats) {
        let started = Instant::now();
        let mut stats = EvaluationStats::default();
        if input.len() > self.limits.input_bytes {
            let message = format!(
                "the input is {} bytes; the limit is {}",
                input.len(),
                self.limits.input_bytes
            );
            return (
                Err(failure(FailureReason::InputTooLarge, message, 0)),
                stats,
            );
        }
        let mut store = self.store();
        let outcome = (|| -> Result<Vec<u8>, Failure> {
            let fail = |store: &Store<GuestState>, e: wasmtime::Error| {
                classify(e, self.fuel_used(store), store.data().memory_denied)
            };
            let instance = plugin.template.instantiate(&mut store).map_err(|e| {
                failure(
                    FailureReason::Unavailable,
                    format!("instantiation failed: {e}"),
                    0,
                )
            })?;
            stats.instantiate = started.elapsed();
            let version = instance
                .get_typed_func::<(), i32>(&mut store, "oms_contract_version")
                .and_then(|f| f.call(&mut store, ()))
                .map_err(|e| fail(&store, e))?;
            if i64::from(version) != i64::from(CONTRACT_VERSION) {
                return Err(failure(
                    FailureReason::WrongContract,
                    format!("the plugin reports contract version {version}; this server speaks {CONTRACT_VERSION}"),
                    self.fuel_used(&store),
                ));
            }
            let memory = instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| failure(FailureReason::Unavailable, "no exported memory", 0))?;
            let alloc = instance
                .get_typed_func::<i32, i32>(&mut store, "oms_alloc")
                .map_err(|e| fail(&store, e))?;
            let len = i32::try_from(input.len()).unwrap_or(i32::MAX);
            let ptr = alloc.call(&mut store, len).map_err(|e| fail(&store, e))?;
            if ptr == 0 && len > 0 {
                let reason = if store.data().memory_denied {
                    FailureReason::MemoryLimit
                } else {
                    FailureReason::BadOutput
                };
                return Err(failure(
                    reason,
                    format!("oms_alloc could not reserve {len} bytes for the input"),
                    self.fuel_used(&store),
                ));
            }
            memory
                .write(&mut store, ptr as u32 as usize, input)
                .map_err(|_| {
                    failure(
                        FailureReason::BadOutput,
                        format!("oms_alloc returned {ptr}, which cannot hold {len} bytes"),
                        self.fuel_used(&store),
                    )
                })?;
            let hook_fn = instance
                .get_typed_func::<(i32, i32), i64>(&mut store, hook.export_name())
                .map_err(|e| fail(&store, e))?;
            let packed = hook_fn
                .call(&mut store, (ptr, len))
                .map_err(|e| fail(&store, e))?;
            let fuel = self.fuel_used(&store);
            let (out_ptr, out_len) = ((packed >> 32) as u32 as usize, packed as u32 as usize);
            if packed == 0 {
                return Err(failure(
                    FailureReason::BadOutput,
                    "the hook returned 0 (no output document)",
                    fuel,
                ));
            }
            if out_len > self.limits.output_bytes {
                return Err(failure(
                    FailureReason::OutputTooLarge,
                    format!(
                        "the output is {out_len} bytes; the limit is {}",
                        self.limits.output_bytes
                    ),
                    fuel,
                ));
            }
            let mut out = vec![0u8; out_len];
            memory.read(&store, out_ptr, &mut out).map_err(|_| {
                failure(
                    FailureReason::BadOutput,
                    format!("the output ({out_len} bytes at {out_ptr}) lies outside memory"),
                    fuel,
                )
            })?;
            Ok(out)
        })();
        stats.fuel_used = self.fuel_used(&store);
        stats.elapsed = started.elapsed();
        stats.log = std::mem::take(&mut store.data_mut().log);
        (outcome, stats)
    }

    /// Evaluates `hook` on a typed input and decodes its output.
    pub fn evaluate<I: Document, O: Output>(
        &self,
        plugin: &CompiledPlugin,
        hook: PolicyHook,
        input: &I,
    ) -> (Result<O, Failure>, EvaluationStats) {
        let (outcome, stats) = self.evaluate_bytes(plugin, hook, &input.encode());
        let outcome = outcome.and_then(|bytes| decode(&bytes, &self.limits, stats.fuel_used));
        (outcome, stats)
    }

    /// [`PluginHost::evaluate`] on the blocking pool, so a guest burning its budget never
    /// stalls the async runtime; waits for a free instance slot first.
    pub async fn evaluate_blocking<I, O>(
        self: &Arc<Self>,
        plugin: Arc<CompiledPlugin>,
        hook: PolicyHook,
        input: I,
    ) -> (Result<O, Failure>, EvaluationStats)
    where
        I: Document + Send + 'static,
        O: Output + Send + 'static,
    {
        let unavailable = |message: &str| {
            (
                Err(failure(FailureReason::Unavailable, message, 0)),
                EvaluationStats::default(),
            )
        };
        let Ok(_slot) = self.slots.clone().acquire_owned().await else {
            return unavailable("the plugin host is shutting down");
        };
        let host = self.clone();
        tokio::task::spawn_blocking(move || host.evaluate(&plugin, hook, &input))
            .await
            .unwrap_or_else(|_| unavailable("the evaluation was cancelled"))
    }

    fn fuel_used(&self, store: &Store<GuestState>) -> u64 {
        self.limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0))
    }
}

/// An output document as the host accepts it: it decodes under the contract, and what it
/// decides stays within the marketplace's limits.
pub trait Output: Document {
    /// Why the host refuses this output under `limits`, if it does.
    fn refusal(&self, limits: &PluginLimits) -> Option<String>;
}

impl Output for FeeDecision {
    /// A claim charges one of the two fees (a return deducts `returnFee`, an exchange costs
    /// `exchangeFee`), so each is held to the cap on its own; the message is plain text.
    fn refusal(&self, limits: &PluginLimits) -> Option<String> {
        let cap = limits.fee_cap;
        [
            ("returnFee", self.return_fee),
            ("exchangeFee", self.exchange_fee),
        ]
        .into_iter()
        .find(|(_, fee)| *fee > cap)
        .map(|(name, fee)| {
            format!("{name} {fee} is over the marketplace's cap of {cap} won per claim")
        })
        .or_else(|| plain_text("message", self.message.as_deref()))
    }
}

impl Output for ExchangeVerdict {
    fn refusal(&self, _: &PluginLimits) -> Option<String> {
        plain_text("message", self.message.as_deref())
            .or_else(|| plain_text("code", self.code.as_deref()))
    }
}

impl Output for WindowVerdict {
    fn refusal(&self, _: &PluginLimits) -> Option<String> {
        plain_text("message", self.message.as_deref())
            .or_else(|| plain_text("code", self.code.as_deref()))
    }
}

/// A plugin's text reaches customers and sellers as plain text: no control characters but
/// line breaks and tabs (the API's own rule for what people write, `docs/text-limits.md`).
fn plain_text(field: &str, text: Option<&str>) -> Option<String> {
    let c = text?
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))?;
    Some(format!(
        "{field} has the control character U+{:04X}; plugin text is plain text",
        u32::from(c)
    ))
}

/// Decodes an output document and applies the host's checks ([`Output`]).
fn decode<O: Output>(bytes: &[u8], limits: &PluginLimits, fuel_used: u64) -> Result<O, Failure> {
    let output = O::decode(bytes).map_err(|e| {
        failure(
            FailureReason::BadOutput,
            format!("the output breaks the contract: {e}"),
            fuel_used,
        )
    })?;
    match output.refusal(limits) {
        Some(why) => Err(failure(FailureReason::BadOutput, why, fuel_used)),
        None => Ok(output),
    }
}

fn failure(reason: FailureReason, message: impl Into<String>, fuel_used: u64) -> Failure {
    Failure {
        reason,
        message: message.into(),
        fuel_used,
    }
}

/// Names a guest's failure from the trap (or error) it ended with.
fn classify(error: wasmtime::Error, fuel_used: u64, memory_denied: bool) -> Failure {
    let (reason, message) = match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => (FailureReason::OutOfFuel, "ran out of fuel".to_owned()),
        Some(Trap::Interrupt) => (
            FailureReason::Deadline,
            "ran past the wall-clock deadline".to_owned(),
        ),
        Some(Trap::StackOverflow) => (
            FailureReason::StackOverflow,
            "overflowed its call stack".to_owned(),
        ),
        Some(trap) if memory_denied => (
            FailureReason::MemoryLimit,
            format!("trapped ({trap}) after asking for more memory than the cap"),
        ),
        Some(trap) => (FailureReason::Trap, format!("trapped: {trap}")),
        None => (FailureReason::Trap, format!("failed: {error}")),
    };
    failure(reason, message, fuel_used)
}

/// `oms.log(ptr, len)`: appends UTF-8 text to the evaluation's log, up to the log cap; the
/// rest is dropped (a flood costs the guest its fuel, not the host its memory).
fn guest_log(mut caller: Caller<'_, GuestState>, ptr: i32, len: i32) {
    let Some(memory) = caller
        .get_export("memory")
        .and_then(|export| export.into_memory())
    else {
        return;
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let room = state.log_cap.saturating_sub(state.log.len());
    if room == 0 {
        return;
    }
    let start = ptr as u32 as usize;
    let len = (len as u32 as usize).min(room);
    let Some(bytes) = data.get(start..start.saturating_add(len)) else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    state.log.push_str(&text[..end]);
    if state.log.len() < state.log_cap {
        state.log.push('\n');
    }
}

/// The sample inputs of the smoke evaluation at upload.
pub mod samples {
    use oms_policy_sdk::*;

    use super::{decode, Failure, PluginLimits};
    use crate::domain::policy::PolicyHook;

    const NOW: i64 = 1_764_000_000;
    const DAY: i64 = 86_400;

    fn item(line_id: i64, bundle: Option<&str>) -> Item {
        Item {
            line_id,
            product_id: 100 + line_id,
            option_id: 1000 + line_id,
            unit_price: 29_000,
            quantity: 1,
            bulky: false,
            bundle_id: bundle.map(str::to_owned),
        }
    }

    /// A size exchange of one line of a two-line set, delivered two days ago.
    pub fn claim_fees() -> ClaimFeesInput {
        ClaimFeesInput {
            claim_type: ClaimType::Exchange,
            reason: Reason::SizeOrOptionChange,
            collection_method: CollectionMethod::Pickup,
            base_fee: 3000,
            free_threshold: 50_000,
            shipping_fee_paid: 0,
            return_fee: 3000,
            delivered_at: Some(NOW - 2 * DAY),
            now: NOW,
            memo: Some("한 치수 큰 것으로 바꿔 주세요".into()),
            items: vec![item(1, Some("SET-1"))],
            earlier_claims: Vec::new(),
        }
    }

    /// The same exchange as `exchange_rules` sees it.
    pub fn exchange_rules() -> ExchangeRulesInput {
        ExchangeRulesInput {
            reason: Reason::SizeOrOptionChange,
            fault: Fault::Customer,
            now: NOW,
            order_lines: vec![
                OrderLine {
                    line_id: 1,
                    active_quantity: 1,
                    bundle_id: Some("SET-1".into()),
                },
                OrderLine {
                    line_id: 2,
                    active_quantity: 1,
                    bundle_id: Some("SET-1".into()),
                },
            ],
            items: vec![ExchangeItem {
                item: item(1, Some("SET-1")),
                replacement_option_id: 2001,
                replacement_price: 29_000,
                replacement_stock: 4,
            }],
            earlier_exchanges: Vec::new(),
        }
    }

    /// A change-of-mind return two days after delivery.
    pub fn claim_window() -> ClaimWindowInput {
        ClaimWindowInput {
            claim_type: ClaimType::Return,
            reason: Reason::ChangeOfMind,
            fault: Fault::Customer,
            shipped_at: Some(NOW - 4 * DAY),
            delivered_at: Some(NOW - 2 * DAY),
            purchase_confirmed_at: None,
            now: NOW,
        }
    }

    /// A change-of-mind return of two lines that ends free shipping, sent back by the
    /// customer, after an earlier return of one unit of the same order.
    fn change_of_mind_return() -> ClaimFeesInput {
        ClaimFeesInput {
            claim_type: ClaimType::Return,
            reason: Reason::ChangeOfMind,
            collection_method: CollectionMethod::CustomerShips,
            base_fee: 3000,
            free_threshold: 50_000,
            shipping_fee_paid: 0,
            return_fee: 3000,
            delivered_at: Some(NOW - 5 * DAY),
            now: NOW,
            memo: None,
            items: vec![
                Item {
                    quantity: 2,
                    ..item(3, None)
                },
                item(4, None),
            ],
            earlier_claims: vec![EarlierClaim {
                line_id: 3,
                claim_type: ClaimType::Return,
                reason: Reason::ChangeOfMind,
                fault: Fault::Customer,
                quantity: 1,
            }],
        }
    }

    /// A defective bulky item picked up, on an order that paid its shipping fee.
    fn defective_bulky_return() -> ClaimFeesInput {
        ClaimFeesInput {
            claim_type: ClaimType::Return,
            reason: Reason::Defective,
            collection_method: CollectionMethod::Pickup,
            base_fee: 5000,
            free_threshold: 0,
            shipping_fee_paid: 5000,
            return_fee: 15_000,
            delivered_at: Some(NOW - 40 * DAY),
            now: NOW,
            memo: Some("다리 하나가 부러져서 왔어요. 사진 첨부합니다.".into()),
            items: vec![Item {
                unit_price: 389_000,
                bulky: true,
                ..item(5, None)
            }],
            earlier_claims: Vec::new(),
        }
    }

    /// A wrong item delivered, exchanged, with an earlier exchange of the same line.
    fn wrong_item_exchange() -> ClaimFeesInput {
        ClaimFeesInput {
            claim_type: ClaimType::Exchange,
            reason: Reason::WrongItemDelivered,
            collection_method: CollectionMethod::Pickup,
            base_fee: 2500,
            free_threshold: 30_000,
            shipping_fee_paid: 2500,
            return_fee: 2500,
            delivered_at: Some(NOW - DAY),
            now: NOW,
            memo: Some("Ordered black, got navy.".into()),
            items: vec![item(6, Some("SET-2")), item(7, Some("SET-2"))],
            earlier_claims: vec![EarlierClaim {
                line_id: 6,
                claim_type: ClaimType::Exchange,
                reason: Reason::SizeOrOptionChange,
                fault: Fault::Customer,
                quantity: 1,
            }],
        }
    }

    /// A defective line's exchange for a replacement that is out of stock, seller at fault.
    fn out_of_stock_replacement() -> ExchangeRulesInput {
        let line = item(8, None);
        ExchangeRulesInput {
            reason: Reason::Defective,
            fault: Fault::Seller,
            now: NOW,
            order_lines: vec![OrderLine {
                line_id: 8,
                active_quantity: 2,
                bundle_id: None,
            }],
            items: vec![ExchangeItem {
                item: line,
                replacement_option_id: 2008,
                replacement_price: 31_000,
                replacement_stock: 0,
            }],
            earlier_exchanges: vec![EarlierClaim {
                line_id: 8,
                claim_type: ClaimType::Exchange,
                reason: Reason::SizeOrOptionChange,
                fault: Fault::Customer,
                quantity: 1,
            }],
        }
    }

    /// A whole set exchanged at once.
    fn whole_set_exchange() -> ExchangeRulesInput {
        let mut input = exchange_rules();
        input.reason = Reason::ChangeOfMind;
        input.items.push(ExchangeItem {
            item: item(2, Some("SET-1")),
            replacement_option_id: 2002,
            replacement_price: 27_000,
            replacement_stock: 1,
        });
        input
    }

    /// A defect reported 80 days after delivery, after purchase confirmation.
    fn late_defect() -> ClaimWindowInput {
        ClaimWindowInput {
            claim_type: ClaimType::Exchange,
            reason: Reason::Defective,
            fault: Fault::Seller,
            shipped_at: Some(NOW - 83 * DAY),
            delivered_at: Some(NOW - 80 * DAY),
            purchase_confirmed_at: Some(NOW - 73 * DAY),
            now: NOW,
        }
    }

    /// A return asked for while the parcel is still on its way.
    fn in_transit_return() -> ClaimWindowInput {
        ClaimWindowInput {
            claim_type: ClaimType::Return,
            reason: Reason::OrderedByMistake,
            fault: Fault::Customer,
            shipped_at: Some(NOW - DAY),
            delivered_at: None,
            purchase_confirmed_at: None,
            now: NOW,
        }
    }

    /// A sample input of any hook.
    pub enum Sample {
        /// Of `claim_fees`.
        Fees(ClaimFeesInput),
        /// Of `exchange_rules`.
        Exchange(ExchangeRulesInput),
        /// Of `claim_window`.
        Window(ClaimWindowInput),
    }

    impl Sample {
        /// The encoded document.
        pub fn encode(&self) -> Vec<u8> {
            match self {
                Sample::Fees(i) => i.encode(),
                Sample::Exchange(i) => i.encode(),
                Sample::Window(i) => i.encode(),
            }
        }

        /// The document as JSON (field names as in `plugins/README.md`).
        pub fn json(&self) -> serde_json::Value {
            match self {
                Sample::Fees(i) => serde_json::to_value(i),
                Sample::Exchange(i) => serde_json::to_value(i),
                Sample::Window(i) => serde_json::to_value(i),
            }
            .unwrap_or_default()
        }
    }

    /// The sample inputs of `hook`, with a few words on each. The upload check evaluates every
    /// one, and each output must keep the contract and the fee cap.
    pub fn all(hook: PolicyHook) -> Vec<(&'static str, Sample)> {
        use Sample::{Exchange, Fees, Window};
        match hook {
            PolicyHook::ClaimFees => vec![
                ("a size exchange of one line of a set", Fees(claim_fees())),
                (
                    "a change-of-mind return after an earlier return",
                    Fees(change_of_mind_return()),
                ),
                ("a defective bulky return", Fees(defective_bulky_return())),
                ("a wrong item exchanged", Fees(wrong_item_exchange())),
            ],
            PolicyHook::ExchangeRules => vec![
                (
                    "a size exchange of one line of a set",
                    Exchange(exchange_rules()),
                ),
                (
                    "a defective line's exchange, replacement out of stock",
                    Exchange(out_of_stock_replacement()),
                ),
                ("a whole set exchanged", Exchange(whole_set_exchange())),
            ],
            PolicyHook::ClaimWindow => vec![
                ("a change-of-mind return", Window(claim_window())),
                ("a defect 80 days after delivery", Window(late_defect())),
                ("a return while in transit", Window(in_transit_return())),
            ],
        }
    }

    /// [`all`], encoded.
    pub fn inputs(hook: PolicyHook) -> Vec<(&'static str, Vec<u8>)> {
        all(hook)
            .into_iter()
            .map(|(about, sample)| (about, sample.encode()))
            .collect()
    }

    /// A sample's output must decode as the hook's output document and pass the host's checks.
    pub fn check_output(
        hook: PolicyHook,
        out: &[u8],
        limits: &PluginLimits,
        fuel_used: u64,
    ) -> Result<(), Failure> {
        match hook {
            PolicyHook::ClaimFees => decode::<FeeDecision>(out, limits, fuel_used).map(drop),
            PolicyHook::ExchangeRules => {
                decode::<ExchangeVerdict>(out, limits, fuel_used).map(drop)
            }
            PolicyHook::ClaimWindow => decode::<WindowVerdict>(out, limits, fuel_used).map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(return_fee: i64, exchange_fee: i64, message: Option<&str>) -> FeeDecision {
        FeeDecision {
            fault: oms_policy_sdk::Fault::Customer,
            return_fee,
            initial_shipping: true,
            coupon_clawback: true,
            exchange_fee,
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn the_host_holds_fees_to_the_cap_and_text_to_plain_text() {
        let limits = PluginLimits::default();
        let cap = limits.fee_cap;
        assert_eq!(decision(cap, cap, None).refusal(&limits), None);
        assert!(decision(cap + 1, 0, None).refusal(&limits).is_some());
        assert!(decision(0, cap + 1, None).refusal(&limits).is_some());
        let plain = decision(0, 0, Some("반품 배송비\n안내\t드립니다"));
        assert_eq!(plain.refusal(&limits), None);
        let escape = decision(0, 0, Some("\u{1b}[2J"));
        assert_eq!(
            escape.refusal(&limits).as_deref(),
            Some("message has the control character U+001B; plugin text is plain text")
        );
        let verdict = WindowVerdict {
            allowed: false,
            code: Some("LATE\u{7}".into()),
            message: None,
        };
        assert!(verdict
            .refusal(&limits)
            .is_some_and(|m| m.starts_with("code")));
    }
}

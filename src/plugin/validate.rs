//! Checks an uploaded module before anything compiles it: size, a valid module (wasmparser),
//! a shape within the static limits that keep its compile within budget ([`ModuleShape`]),
//! nothing imported but `oms.log`, and the exports the contract requires with their
//! signatures. Every refusal names the problem in words a partner can act on.

use std::collections::HashMap;

use wasmparser::{
    CompositeInnerType, ExternalKind, FunctionBody, Operator, Parser, Payload, TypeRef, ValType,
    Validator,
};

use crate::domain::policy::PolicyHook;

use super::{ModuleShape, PluginError, PluginLimits};

/// A function signature in the contract's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    params: Vec<ValType>,
    results: Vec<ValType>,
}

impl Signature {
    fn new(params: &[ValType], results: &[ValType]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

/// The functions every module exports, besides its hook.
fn required_exports(hook: PolicyHook) -> [(&'static str, Signature); 3] {
    use ValType::{I32, I64};
    [
        ("oms_contract_version", Signature::new(&[], &[I32])),
        ("oms_alloc", Signature::new(&[I32], &[I32])),
        (hook.export_name(), Signature::new(&[I32, I32], &[I64])),
    ]
}

/// Checks that `bytes` is a valid module within the size and shape limits, without compiling
/// it and whatever it is for.
pub fn check_shape(bytes: &[u8], limits: &PluginLimits) -> Result<(), PluginError> {
    if bytes.len() > limits.module_bytes {
        return Err(PluginError::TooLarge {
            size: bytes.len(),
            limit: limits.module_bytes,
        });
    }
    Validator::new()
        .validate_all(bytes)
        .map_err(|e| PluginError::Invalid(format!("not a valid WebAssembly module: {e}")))?;
    let invalid = |e: wasmparser::BinaryReaderError| PluginError::Invalid(e.to_string());
    let shape = &limits.shape;
    let mut segments = 0u64;
    let mut function = 0u32;
    let mut calls = 0u32;
    // Parameters of each type, and the type of each defined function: parameters are locals.
    let mut params: Vec<u32> = Vec::new();
    let mut types_of: Vec<u32> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                at_most("function types", reader.count(), shape.types)?;
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        params.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                u32::try_from(f.params().len()).unwrap_or(u32::MAX)
                            }
                            _ => 0,
                        });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                at_most("functions", reader.count(), shape.functions)?;
                for ty in reader {
                    types_of.push(ty.map_err(invalid)?);
                }
            }
            Payload::GlobalSection(reader) => at_most("globals", reader.count(), shape.globals)?,
            Payload::DataSection(reader) => segments += u64::from(reader.count()),
            Payload::ElementSection(reader) => segments += u64::from(reader.count()),
            Payload::TableSection(reader) => {
                at_most("tables", reader.count(), 1)?;
                for table in reader {
                    let initial = table.map_err(invalid)?.ty.initial;
                    if initial > shape.table_elements {
                        return Err(PluginError::Invalid(format!(
                            "the table starts with {initial} elements; the limit is {}",
                            shape.table_elements
                        )));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                at_most("memories", reader.count(), 1)?;
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    if memory.shared || memory.memory64 {
                        return Err(PluginError::Invalid(
                            "the memory must be a plain 32-bit memory, not shared or 64-bit".into(),
                        ));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let own_params = types_of
                    .get(function as usize)
                    .and_then(|t| params.get(*t as usize))
                    .copied()
                    .unwrap_or(0);
                function += 1;
                calls = calls.saturating_add(check_body(&body, function, own_params, shape)?);
                at_most("calls", calls, shape.calls)?;
            }
            _ => {}
        }
    }
    at_most(
        "data and element segments",
        u32::try_from(segments).unwrap_or(u32::MAX),
        shape.segments,
    )
}

fn at_most(what: &str, count: u32, limit: u32) -> Result<(), PluginError> {
    if count > limit {
        return Err(PluginError::Invalid(format!(
            "the module has {count} {what}; the limit is {limit}"
        )));
    }
    Ok(())
}

/// One function's size, locals (its `params` included), nesting and `br_table`s (`n` counts
/// defined functions from 1); returns the calls it makes.
fn check_body(
    body: &FunctionBody<'_>,
    n: u32,
    params: u32,
    shape: &ModuleShape,
) -> Result<u32, PluginError> {
    let invalid = |e: wasmparser::BinaryReaderError| PluginError::Invalid(e.to_string());
    let over = |what: String| {
        PluginError::Invalid(format!(
            "function {n} (of those the module defines) has {what}"
        ))
    };
    let size = body.range().len();
    if size > shape.function_bytes as usize {
        return Err(over(format!(
            "a body of {size} bytes; the limit is {}",
            shape.function_bytes
        )));
    }
    let mut locals = u64::from(params);
    for group in body.get_locals_reader().map_err(invalid)? {
        locals += u64::from(group.map_err(invalid)?.0);
    }
    if locals > u64::from(shape.locals) {
        return Err(over(format!(
            "{locals} locals (parameters included); the limit is {}",
            shape.locals
        )));
    }
    let mut reader = body.get_operators_reader().map_err(invalid)?;
    let mut depth = 0u32;
    let mut calls = 0u32;
    while !reader.eof() {
        match reader.read().map_err(invalid)? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                depth += 1;
                if depth > shape.nesting {
                    return Err(over(format!("blocks nested deeper than {}", shape.nesting)));
                }
            }
            Operator::End => depth = depth.saturating_sub(1),
            Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. } => calls += 1,
            Operator::BrTable { targets } if targets.len() > shape.br_table_targets => {
                return Err(over(format!(
                    "a br_table of {} targets; the limit is {}",
                    targets.len(),
                    shape.br_table_targets
                )));
            }
            _ => {}
        }
    }
    Ok(calls)
}

/// Checks `bytes` as a module for `hook` (contract version 1), without compiling it.
pub fn check(bytes: &[u8], hook: PolicyHook, limits: &PluginLimits) -> Result<(), PluginError> {
    check_shape(bytes, limits)?;

    let invalid = |e: wasmparser::BinaryReaderError| PluginError::Invalid(e.to_string());
    let mut types: Vec<Option<Signature>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new(); // type index of each function, imports first
    let mut exports: HashMap<String, (ExternalKind, u32)> = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                Some(Signature::new(f.params(), f.results()))
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let name = format!("{}.{}", import.module, import.name);
                    let TypeRef::Func(index) = import.ty else {
                        return Err(PluginError::Invalid(format!(
                            "forbidden import `{name}`: a plugin may import only the function `oms.log`"
                        )));
                    };
                    if name != "oms.log" {
                        return Err(PluginError::Invalid(format!(
                            "forbidden import `{name}`: a plugin may import only `oms.log` \
                             (build without WASI: --target wasm32-unknown-unknown)"
                        )));
                    }
                    let want = Signature::new(&[ValType::I32, ValType::I32], &[]);
                    let got = types.get(index as usize).cloned().flatten();
                    if got.as_ref() != Some(&want) {
                        return Err(PluginError::Invalid(format!(
                            "import `oms.log` must have the type {want}"
                        )));
                    }
                    functions.push(index);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let initial = memory.map_err(invalid)?.initial;
                    let bytes = initial.saturating_mul(64 * 1024);
                    if bytes > limits.memory_bytes as u64 {
                        return Err(PluginError::Invalid(format!(
                            "the module declares {initial} pages of initial memory ({} MiB); \
                             the cap is {} MiB",
                            bytes >> 20,
                            limits.memory_bytes >> 20
                        )));
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    functions.push(index.map_err(invalid)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    exports.insert(export.name.to_owned(), (export.kind, export.index));
                }
            }
            _ => {}
        }
    }

    match exports.get("memory") {
        Some((ExternalKind::Memory, _)) => {}
        _ => return Err(missing("memory", hook)),
    }
    for (name, want) in required_exports(hook) {
        let Some((ExternalKind::Func, index)) = exports.get(name) else {
            return Err(missing(name, hook));
        };
        let got = functions
            .get(*index as usize)
            .and_then(|t| types.get(*t as usize).cloned().flatten());
        if got.as_ref() != Some(&want) {
            return Err(PluginError::Invalid(format!(
                "export `{name}` has the type {}; the contract needs {want}",
                got.map_or_else(|| "?".to_owned(), |g| g.to_string())
            )));
        }
    }
    Ok(())
}

fn missing(name: &str, hook: PolicyHook) -> PluginError {
    PluginError::Invalid(format!(
        "missing export `{name}`: a plugin for {} exports `memory`, `oms_contract_version`, \
         `oms_alloc` and `{}`",
        hook.as_str(),
        hook.export_name()
    ))
}

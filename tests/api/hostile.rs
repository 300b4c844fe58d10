//! Hostile input, generated from the schema: documents for every query, mutation and
//! subscription root field with generated arguments (well-typed values, wrong types, huge and
//! unicode strings, out-of-range numbers, nulls for required values, unknown enum values, real
//! and malformed global ids), random selection sets (nested fields, aliases, fragments,
//! directives), syntactically broken documents and malformed request bodies, sent through the
//! real router with the tokens of every role (and none) over the demo marketplace's orders and
//! claims. Every answer is below 500, every error carries a stable `extensions.code` (never
//! `INTERNAL`), every `userErrors` entry a code of `UserErrorCode`, and no server thread
//! panics. The flood cases (oversized body, deep query, alias flood, batch flood, huge
//! variables, deeply nested values, fragment cycle, directive flood) are refused by the
//! configured limits with their codes.
//!
//! `OMS_HOSTILE_CASES` raises the count (default 10,000 on SQLite, a quarter of it on
//! PostgreSQL); `OMS_HOSTILE_SEED` replays another seed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use oms::config::LimitArgs;
use oms::domain::actor::Role;
use proptest::prelude::{any, RngExt, Strategy};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::harness::{Backend, TestApp};

// ---------------------------------------------------------------------------------------------
// The schema, as the server's introspection describes it (shared with `tenancy`).

/// A type reference: `[ID!]!` is `NonNull(List(NonNull(Named("ID"))))`.
#[derive(Debug, Clone)]
pub enum Ty {
    Named(String),
    List(Box<Ty>),
    NonNull(Box<Ty>),
}

impl Ty {
    fn from_json(v: &Value) -> Ty {
        match v["kind"].as_str() {
            Some("NON_NULL") => Ty::NonNull(Box::new(Ty::from_json(&v["ofType"]))),
            Some("LIST") => Ty::List(Box::new(Ty::from_json(&v["ofType"]))),
            _ => Ty::Named(v["name"].as_str().expect("named type").to_owned()),
        }
    }

    /// The named type under the wrappers.
    pub fn named(&self) -> &str {
        match self {
            Ty::Named(n) => n,
            Ty::List(t) | Ty::NonNull(t) => t.named(),
        }
    }

    /// As written in SDL.
    pub fn sdl(&self) -> String {
        match self {
            Ty::Named(n) => n.clone(),
            Ty::List(t) => format!("[{}]", t.sdl()),
            Ty::NonNull(t) => format!("{}!", t.sdl()),
        }
    }
}

/// An argument or input field.
#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub description: String,
    pub ty: Ty,
    pub default: Option<String>,
}

impl Arg {
    /// Must be given: non-null without a default.
    pub fn required(&self) -> bool {
        matches!(self.ty, Ty::NonNull(_)) && self.default.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub description: String,
    pub args: Vec<Arg>,
    pub ty: Ty,
}

#[derive(Debug, Clone, Default)]
pub struct TypeDef {
    pub kind: String,
    pub fields: Vec<Field>,
    pub inputs: Vec<Arg>,
    pub enum_values: Vec<String>,
    pub possible: Vec<String>,
}

/// The root operation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Query,
    Mutation,
    Subscription,
}

impl Op {
    pub fn keyword(self) -> &'static str {
        match self {
            Op::Query => "query",
            Op::Mutation => "mutation",
            Op::Subscription => "subscription",
        }
    }
}

/// The schema as introspection shows it.
pub struct Api {
    pub types: HashMap<String, TypeDef>,
    roots: [Option<String>; 3],
}

const INTROSPECTION: &str = "query { __schema { queryType { name } mutationType { name } subscriptionType { name } types { kind name fields(includeDeprecated: true) { name description args { name description defaultValue type { ...T } } type { ...T } } inputFields { name description defaultValue type { ...T } } enumValues(includeDeprecated: true) { name } possibleTypes { name } } } } fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

fn args_from(v: &Value) -> Vec<Arg> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| Arg {
                    name: x["name"].as_str().unwrap().to_owned(),
                    description: x["description"].as_str().unwrap_or_default().to_owned(),
                    ty: Ty::from_json(&x["type"]),
                    default: x["defaultValue"].as_str().map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Api {
    /// Reads the schema through the router's introspection.
    pub async fn introspect(t: &TestApp) -> Api {
        let d = t.gql(&t.operator(), INTROSPECTION, json!({})).await;
        let schema = &d["__schema"];
        let mut types = HashMap::new();
        for ty in schema["types"].as_array().unwrap() {
            let fields = ty["fields"]
                .as_array()
                .map(|fs| {
                    fs.iter()
                        .map(|f| Field {
                            name: f["name"].as_str().unwrap().to_owned(),
                            description: f["description"].as_str().unwrap_or_default().to_owned(),
                            args: args_from(&f["args"]),
                            ty: Ty::from_json(&f["type"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            types.insert(
                ty["name"].as_str().unwrap().to_owned(),
                TypeDef {
                    kind: ty["kind"].as_str().unwrap().to_owned(),
                    fields,
                    inputs: args_from(&ty["inputFields"]),
                    enum_values: names(&ty["enumValues"]),
                    possible: names(&ty["possibleTypes"]),
                },
            );
        }
        let root = |k: &str| schema[k]["name"].as_str().map(str::to_owned);
        Api {
            types,
            roots: [
                root("queryType"),
                root("mutationType"),
                root("subscriptionType"),
            ],
        }
    }

    pub fn ty(&self, name: &str) -> &TypeDef {
        self.types
            .get(name)
            .unwrap_or_else(|| panic!("type {name} not in the schema"))
    }

    /// The root fields of an operation kind.
    pub fn roots(&self, op: Op) -> &[Field] {
        let i = match op {
            Op::Query => 0,
            Op::Mutation => 1,
            Op::Subscription => 2,
        };
        self.roots[i]
            .as_deref()
            .map(|n| self.ty(n).fields.as_slice())
            .unwrap_or_default()
    }

    pub fn is_leaf(&self, name: &str) -> bool {
        matches!(self.ty(name).kind.as_str(), "SCALAR" | "ENUM")
    }

    /// The values of an enum (the stable codes of `UserErrorCode`, ...).
    pub fn enum_values(&self, name: &str) -> HashSet<String> {
        self.ty(name).enum_values.iter().cloned().collect()
    }

    /// Every field reachable from `ty` within `depth` levels that needs no argument: scalars and
    /// enums by name, objects with their own selection, interfaces and unions through inline
    /// fragments on each possible type.
    pub fn full_selection(&self, ty: &str, depth: usize) -> String {
        let def = self.ty(ty);
        let mut items = vec!["__typename".to_owned()];
        match def.kind.as_str() {
            "OBJECT" => {
                for f in &def.fields {
                    if f.args.iter().any(Arg::required) {
                        continue;
                    }
                    let inner = f.ty.named();
                    if self.is_leaf(inner) {
                        items.push(f.name.clone());
                    } else if depth > 0 {
                        items.push(format!(
                            "{} {{ {} }}",
                            f.name,
                            self.full_selection(inner, depth - 1)
                        ));
                    }
                }
            }
            "INTERFACE" | "UNION" => {
                for p in &def.possible {
                    items.push(format!(
                        "... on {p} {{ {} }}",
                        self.full_selection(p, depth)
                    ));
                }
            }
            _ => {}
        }
        items.join(" ")
    }
}

/// Every `gid://oms/...` id, order number, claim number and cursor in a response.
#[derive(Debug, Default, Clone)]
pub struct Pools {
    pub ids: BTreeMap<String, Vec<String>>,
    pub order_numbers: Vec<String>,
    pub claim_numbers: Vec<String>,
    pub cursors: Vec<String>,
}

impl Pools {
    pub fn harvest(&mut self, key: &str, v: &Value) {
        match v {
            Value::String(s) => {
                if let Some(rest) = s.strip_prefix("gid://oms/") {
                    if let Some((kind, _)) = rest.split_once('/') {
                        push_new(self.ids.entry(kind.to_owned()).or_default(), s);
                    }
                } else if key == "orderNumber" {
                    push_new(&mut self.order_numbers, s);
                } else if key == "claimNumber" {
                    push_new(&mut self.claim_numbers, s);
                } else if key.to_ascii_lowercase().ends_with("cursor") {
                    push_new(&mut self.cursors, s);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.harvest(key, i)),
            Value::Object(m) => m.iter().for_each(|(k, v)| self.harvest(k, v)),
            _ => {}
        }
    }

    /// The numeric ids of a kind.
    pub fn numbers(&self, kind: &str) -> Vec<i64> {
        self.ids
            .get(kind)
            .map(|v| {
                v.iter()
                    .filter_map(|g| g.rsplit('/').next()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn push_new(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

/// Calls every query root field that needs no argument as `token`, selecting everything to
/// `depth`, and collects the ids and numbers in the answers (of the fields the caller may read).
pub async fn harvest(t: &TestApp, api: &Api, token: &str, depth: usize) -> Pools {
    let mut pools = Pools::default();
    for f in api.roots(Op::Query) {
        if f.args.iter().any(Arg::required) || api.is_leaf(f.ty.named()) {
            continue;
        }
        let doc = format!(
            "{{ {} {{ {} }} }}",
            f.name,
            api.full_selection(f.ty.named(), depth)
        );
        let (status, body) = t.post(Some(token), &doc, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", f.name);
        pools.harvest("", &body["data"]);
    }
    pools
}

// ---------------------------------------------------------------------------------------------
// Panics on the server's threads.

/// Panics seen on threads whose name starts with a watched prefix (a test's own runtime).
fn panics() -> &'static Mutex<Vec<String>> {
    static PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Installs (once) a panic hook that records every panic on a thread named `hostile-*` or
/// `tenancy-*` (the workers and blocking threads of those tests' runtimes, where the router's
/// handlers run), then calls the previous hook.
pub fn watch_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or_default();
            if name.starts_with("hostile-") || name.starts_with("tenancy-") {
                if let Ok(mut p) = panics().lock() {
                    p.push(format!("{name}: {info}"));
                }
            }
            previous(info);
        }));
    });
}

/// The panics recorded on threads named `prefix*`.
pub fn panics_on(prefix: &str) -> Vec<String> {
    panics()
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.starts_with(prefix))
        .cloned()
        .collect()
}

/// A runtime whose threads are named `name-*`, so the panic hook can tell them apart.
pub fn runtime(name: &str) -> tokio::runtime::Runtime {
    watch_panics();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("{name}-worker"))
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// The generator.

const UNICODE: &[&str] = &[
    "주문번호 20261124-000001",
    "💥🧨🔥",
    "\u{0}",
    "\u{202E}gnp.exe",
    "\u{FEFF}bom",
    "Ω≈ç√∫˜µ≤≥÷",
    "𝕺𝕸𝕾",
    "'; DROP TABLE orders; --",
    "\" OR 1=1 --",
    "%s%n%x",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\\u0000\\",
    "a\r\nb\tc",
    "ﷺ",
    "\u{10FFFF}",
    "",
    " ",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "9007199254740993",
    "1e308",
    "-1e-308",
    "0.5",
    "-0.0",
    "1e999",
];

const KINDS: &[&str] = &[
    "Order",
    "OrderLine",
    "Tender",
    "Shipment",
    "Seller",
    "Customer",
    "Product",
    "ProductOption",
    "Plugin",
    "PluginFailure",
    "Webhook",
    "Claim",
    "Nope",
];

const BAD_IDS: &[&str] = &[
    "gid://oms/Order/",
    "gid://oms/Order/-1",
    "gid://oms/Order/0",
    "gid://oms/Order/99999999999999999999999",
    "gid://oms/Order/1.5",
    "gid://oms/Order/1/2",
    "gid://oms//1",
    "gid://other/Order/1",
    "gid://oms/order/1",
    "gid://oms/Order/+1",
    "gid://oms/Order/ 1",
    "gid://oms/Order/１",
    "T3JkZXI6MQ==",
    "1",
    "",
];

/// Hints from argument names to the kind of id they take.
const ID_HINTS: &[(&str, &str)] = &[
    ("option", "ProductOption"),
    ("line", "OrderLine"),
    ("seller", "Seller"),
    ("customer", "Customer"),
    ("failure", "PluginFailure"),
    ("plugin", "Plugin"),
    ("webhook", "Webhook"),
    ("product", "Product"),
    ("order", "Order"),
];

/// How often a generated value is replaced by a hostile one, per document: some documents are
/// well-typed throughout so that they reach the resolvers.
const HOSTILE: &[f64] = &[0.0, 0.0, 0.03, 0.12, 0.3];

struct Gen<'a> {
    api: &'a Api,
    pools: &'a Pools,
    runner: TestRunner,
    vars: Vec<(String, String, Option<Value>)>,
    fragments: Vec<String>,
    aliases: usize,
    max_depth: usize,
    hostility: f64,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Gen<'a> {
    fn new(api: &'a Api, pools: &'a Pools, seed: u64) -> Gen<'a> {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        Gen {
            api,
            pools,
            runner: TestRunner::new_with_rng(Config::default(), rng),
            vars: Vec::new(),
            fragments: Vec::new(),
            aliases: 0,
            max_depth: 4,
            hostility: 0.1,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.runner.rng().random_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        self.runner.rng().random_range(0..n.max(1))
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A value of a proptest strategy.
    fn draw<S: Strategy>(&mut self, s: S) -> S::Value {
        s.new_tree(&mut self.runner).expect("strategy").current()
    }

    fn huge_string(&mut self) -> String {
        let unit = self.pick(&["x", "가", "😀", "\\", "\""]);
        let n = self.pick(&[1_000, 10_000, 100_000, 300_000]);
        unit.repeat(n)
    }

    fn number(&mut self) -> Value {
        let n = self.pick(NUMBERS);
        serde_json::from_str(n).unwrap_or_else(|_| json!(n))
    }

    fn gid_any(&mut self) -> String {
        let kind = self.pick(KINDS);
        let n: i64 = self.pick(&[0, 1, 2, 3, 7, 42, -5, i64::MAX]);
        format!("gid://oms/{kind}/{n}")
    }

    fn id(&mut self, hint: &str) -> Value {
        let hint = hint.to_ascii_lowercase();
        let pools = self.pools;
        let kind = ID_HINTS
            .iter()
            .find(|(h, _)| hint.contains(h))
            .map(|(_, k)| *k);
        let pool = match kind {
            Some(k) if self.chance(0.8) => pools.ids.get(k),
            _ => {
                let kinds: Vec<&String> = pools.ids.keys().collect();
                if kinds.is_empty() {
                    None
                } else {
                    let k = self.pick(&kinds);
                    pools.ids.get(k)
                }
            }
        };
        match pool {
            Some(p) if !p.is_empty() && self.chance(0.85) => json!(self.pick(p)),
            _ => json!(self.gid_any()),
        }
    }

    fn string(&mut self, hint: &str) -> Value {
        let h = hint.to_ascii_lowercase();
        let pools = self.pools;
        let s = if h.contains("ordernumber") && !pools.order_numbers.is_empty() {
            self.pick(&pools.order_numbers)
        } else if h.contains("claimnumber") && !pools.claim_numbers.is_empty() {
            self.pick(&pools.claim_numbers)
        } else if (h == "after" || h == "before") && !pools.cursors.is_empty() {
            self.pick(&pools.cursors)
        } else if h.contains("url") {
            self.pick(&[
                "https://partner.example/hook",
                "http://127.0.0.1:9/x",
                "ftp://x",
                "not a url",
                "http://[::1]:0/",
            ])
            .to_owned()
        } else if h.contains("eventtype") {
            self.pick(&["claim.*", "order.shipped", "*", "claim.nope", ""])
                .to_owned()
        } else if h.contains("wasm") {
            self.pick(&["AGFzbQEAAAA=", "", "!!not base64!!", "AAAA"])
                .to_owned()
        } else if h.contains("courier") {
            "CJ대한통운".to_owned()
        } else if self.chance(0.5) {
            self.draw(any::<String>())
        } else {
            self.draw(proptest::string::string_regex("[a-zA-Z0-9가-힣 _.-]{0,16}").unwrap())
        };
        json!(s)
    }

    fn json_scalar(&mut self, depth: usize) -> Value {
        match self.below(if depth > 3 { 4 } else { 6 }) {
            0 => Value::Null,
            1 => json!(self.chance(0.5)),
            2 => self.number(),
            3 => json!(self.draw(any::<String>())),
            4 => Value::Array(
                (0..self.below(4))
                    .map(|_| self.json_scalar(depth + 1))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.below(4) {
                    let k = self.pick(&["seller", "claim", "items", "fault", "x", "now", "input"]);
                    m.insert(k.to_owned(), self.json_scalar(depth + 1));
                }
                Value::Object(m)
            }
        }
    }

    /// A value that is wrong for most types.
    fn hostile(&mut self, ty: &Ty) -> Value {
        match self.below(11) {
            0 => Value::Null,
            1 => json!(self.huge_string()),
            2 => json!(self.pick(UNICODE)),
            3 => self.number(),
            4 => json!(self.pick(BAD_IDS)),
            5 => {
                let n = self.api.ty(ty.named()).enum_values.first().cloned();
                json!(match n {
                    Some(v) if self.chance(0.5) => v.to_ascii_lowercase(),
                    _ => "NOT_A_VALUE".to_owned(),
                })
            }
            6 => self.pick(&[
                json!({}),
                json!([]),
                json!([[[]]]),
                json!({"a": {"b": [1]}}),
            ]),
            7 => json!(self.chance(0.5)),
            8 => json!(self.draw(any::<String>())),
            9 => json!(self.gid_any()),
            _ => {
                // A well-typed object with an unknown field.
                let mut v = self.value_of(ty, "x", 3);
                if let Value::Object(m) = &mut v {
                    m.insert("unknownField".into(), json!(1));
                }
                v
            }
        }
    }

    /// A value for `ty`: mostly well-typed, sometimes hostile.
    fn value(&mut self, ty: &Ty, hint: &str, depth: usize) -> Value {
        if self.chance(self.hostility) {
            return self.hostile(ty);
        }
        if !matches!(ty, Ty::NonNull(_)) && self.chance(0.1) {
            return Value::Null;
        }
        self.value_of(ty, hint, depth)
    }

    fn value_of(&mut self, ty: &Ty, hint: &str, depth: usize) -> Value {
        match ty {
            Ty::NonNull(t) => self.value_of(t, hint, depth),
            Ty::List(t) => {
                let n = if depth > 3 { 0 } else { self.below(4) };
                Value::Array((0..n).map(|_| self.value(t, hint, depth + 1)).collect())
            }
            Ty::Named(name) => self.named(name, hint, depth),
        }
    }

    fn named(&mut self, name: &str, hint: &str, depth: usize) -> Value {
        let api = self.api;
        let def = api.ty(name);
        match def.kind.as_str() {
            "ENUM" => json!(self.pick(&def.enum_values)),
            "INPUT_OBJECT" => {
                let mut m = Map::new();
                for f in &def.inputs {
                    if f.required() || (depth < 4 && self.chance(0.4)) {
                        m.insert(f.name.clone(), self.value(&f.ty, &f.name, depth + 1));
                    }
                }
                Value::Object(m)
            }
            _ => match name {
                "Int" => {
                    if self.chance(0.7) {
                        json!(self.pick(&[0, 1, 2, 3, 5, 10, 50, 100, 101, -1]))
                    } else {
                        json!(self.pick(&[i32::MAX, i32::MIN, 1000, 7]))
                    }
                }
                "Float" => json!(self.pick(&[0.0, 1.5, -2.25, 1e10])),
                "Boolean" => json!(self.chance(0.5)),
                "ID" => self.id(hint),
                "DateTime" => json!(self.pick(&[
                    "2026-11-24T09:00:00Z",
                    "2026-11-01T00:00:00+09:00",
                    "2026-12-31T23:59:59.999Z",
                    "2026-11-24",
                    "1970-01-01T00:00:00Z",
                ])),
                "Won" => json!(self.pick(&[0i64, 100, 3000, 10000, 9_999_999, -1])),
                "JSON" => self.json_scalar(0),
                _ => self.string(hint),
            },
        }
    }

    /// `v` as a GraphQL literal of `ty`.
    fn literal(&self, v: &Value, ty: Option<&Ty>) -> String {
        let inner = |t: Option<&Ty>| -> Option<Ty> {
            match t {
                Some(Ty::NonNull(t)) => match t.as_ref() {
                    Ty::List(i) => Some(i.as_ref().clone()),
                    other => Some(other.clone()),
                },
                Some(Ty::List(i)) => Some(i.as_ref().clone()),
                Some(other) => Some(other.clone()),
                None => None,
            }
        };
        match v {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => {
                let is_enum = ty.is_some_and(|t| {
                    self.api
                        .types
                        .get(t.named())
                        .is_some_and(|d| d.kind == "ENUM")
                });
                if is_enum && is_name(s) && !matches!(s.as_str(), "true" | "false" | "null") {
                    s.clone()
                } else {
                    serde_json::to_string(s).unwrap()
                }
            }
            Value::Array(items) => {
                let it = inner(ty);
                let parts: Vec<String> =
                    items.iter().map(|i| self.literal(i, it.as_ref())).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Object(m) => {
                let def = ty.and_then(|t| self.api.types.get(t.named()));
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| {
                        let fty = def.and_then(|d| d.inputs.iter().find(|f| &f.name == k));
                        format!("{k}: {}", self.literal(v, fty.map(|f| &f.ty)))
                    })
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }

    fn variable(&mut self, declared: String, value: Option<Value>) -> String {
        let name = format!("v{}", self.vars.len());
        self.vars.push((name.clone(), declared, value));
        format!("${name}")
    }

    fn args(&mut self, args: &[Arg]) -> String {
        let mut parts = Vec::new();
        for a in args {
            let give = if a.required() {
                !self.chance(0.03)
            } else {
                self.chance(0.35)
            };
            if !give {
                continue;
            }
            let v = self.value(&a.ty, &a.name, 0);
            if self.chance(0.5) {
                let declared = if self.chance(0.05) {
                    self.pick(&["String", "Int!", "[ID!]!", "Boolean", "Nope", "JSON"])
                        .to_owned()
                } else {
                    a.ty.sdl()
                };
                let value = if self.chance(0.03) { None } else { Some(v) };
                let var = self.variable(declared, value);
                parts.push(format!("{}: {var}", a.name));
            } else {
                parts.push(format!("{}: {}", a.name, self.literal(&v, Some(&a.ty))));
            }
        }
        if self.chance(0.01) {
            parts.push("unknownArgument: 1".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    fn directives(&mut self) -> String {
        if !self.chance(0.06) {
            return String::new();
        }
        match self.below(8) {
            0 => " @include(if: true)".into(),
            1 => " @skip(if: false)".into(),
            2 => " @skip(if: true)".into(),
            3 => {
                let b = json!(self.chance(0.5));
                format!(
                    " @include(if: {})",
                    self.variable("Boolean!".into(), Some(b))
                )
            }
            4 => " @include(if: \"yes\")".into(),
            5 => " @nope".into(),
            6 => " @deprecated(reason: \"x\")".into(),
            _ => " @skip(if: false)".repeat(20),
        }
    }

    fn field(&mut self, f: &Field, depth: usize) -> String {
        let alias = if self.chance(0.08) {
            self.aliases += 1;
            format!("a{}: ", self.aliases)
        } else {
            String::new()
        };
        let args = self.args(&f.args);
        let dirs = self.directives();
        let inner = f.ty.named();
        let head = format!("{alias}{}{args}{dirs}", f.name);
        if self.api.is_leaf(inner) {
            if self.chance(0.005) {
                format!("{head} {{ x }}")
            } else {
                head
            }
        } else if depth >= self.max_depth || self.chance(0.03) {
            // A userError's code is always asked for: the check reads it.
            let code = if inner == "UserError" { " code" } else { "" };
            format!("{head} {{ __typename{code} }}")
        } else {
            format!("{head} {{ {} }}", self.selection(inner, depth + 1))
        }
    }

    fn selection(&mut self, ty: &str, depth: usize) -> String {
        let api = self.api;
        let def = api.ty(ty);
        let mut items = Vec::new();
        match def.kind.as_str() {
            "OBJECT" => {
                let fields: Vec<&Field> = def
                    .fields
                    .iter()
                    .filter(|f| !f.name.starts_with("__"))
                    .collect();
                let n = 1 + self.below(4usize.saturating_sub(depth / 2).max(1));
                for _ in 0..n {
                    let f = self.pick(&fields);
                    items.push(self.field(f, depth));
                }
                if ty == "UserError" {
                    items.push("code".into());
                }
                if self.chance(0.04) {
                    let name = format!("F{}", self.fragments.len());
                    let body = self.selection(ty, depth);
                    self.fragments
                        .push(format!("fragment {name} on {ty} {{ {body} }}"));
                    items.push(format!("...{name}"));
                }
                if self.chance(0.03) {
                    let body = self.selection(ty, depth);
                    items.push(format!("... on {ty}{} {{ {body} }}", self.directives()));
                }
                if self.chance(0.01) {
                    items.push("noSuchField".into());
                }
            }
            "INTERFACE" | "UNION" => {
                if self.chance(0.5) {
                    items.push("__typename".into());
                }
                if let Some(id) = def.fields.iter().find(|f| f.name == "id") {
                    if self.chance(0.5) {
                        items.push(id.name.clone());
                    }
                }
                for _ in 0..1 + self.below(2) {
                    let p = if self.chance(0.03) {
                        "Query".to_owned()
                    } else {
                        self.pick(&def.possible)
                    };
                    let body = self.selection(&p, depth);
                    items.push(format!("... on {p} {{ {body} }}"));
                }
            }
            _ => items.push("__typename".into()),
        }
        if self.chance(0.1) {
            items.push("__typename".into());
        }
        items.join(" ")
    }

    /// A whole document with its variables and operation name.
    fn document(&mut self) -> (String, Map<String, Value>, Option<String>) {
        self.vars.clear();
        self.fragments.clear();
        self.aliases = 0;
        self.hostility = self.pick(HOSTILE);
        self.max_depth = if self.chance(0.02) {
            14
        } else {
            2 + self.below(3)
        };
        let op = match self.below(20) {
            0 => Op::Subscription,
            1..=8 => Op::Mutation,
            _ => Op::Query,
        };
        let api = self.api;
        let roots = api.roots(op);
        let mut body = Vec::new();
        for _ in 0..1 + usize::from(self.chance(0.2)) {
            let f = self.pick(&roots.iter().collect::<Vec<_>>());
            body.push(self.field(f, 1));
        }
        if op == Op::Query && self.chance(0.02) {
            body.push(
                self.pick(&[
                    "__schema { types { name kind } }",
                    "__type(name: \"Order\") { fields { name } }",
                    "__type(name: \"\u{0}\") { name }",
                    "__typename",
                ])
                .to_owned(),
            );
        }
        let name = if self.chance(0.3) {
            Some(format!("Op{}", self.below(3)))
        } else {
            None
        };
        let mut variables = Map::new();
        let defs: Vec<String> = self
            .vars
            .iter()
            .map(|(n, t, v)| {
                if let Some(v) = v {
                    variables.insert(n.clone(), v.clone());
                }
                format!("${n}: {t}")
            })
            .collect();
        let defs = if defs.is_empty() {
            String::new()
        } else {
            format!("({})", defs.join(", "))
        };
        let mut doc = format!(
            "{} {}{defs} {{ {} }}",
            op.keyword(),
            name.clone().unwrap_or_default(),
            body.join(" ")
        );
        for f in &self.fragments {
            doc.push(' ');
            doc.push_str(f);
        }
        if self.chance(0.01) {
            doc.push_str(" query Other { viewer { role } }");
        }
        let name = if self.chance(0.05) {
            Some("NotInTheDocument".into())
        } else {
            name
        };
        if self.chance(0.08) {
            doc = self.corrupt(doc);
        }
        (doc, variables, name)
    }

    /// A document broken somewhere.
    fn corrupt(&mut self, mut doc: String) -> String {
        let cut = |doc: &str, at: usize| -> usize {
            let mut i = at.min(doc.len());
            while !doc.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let at = cut(&doc, self.below(doc.len() + 1));
        match self.below(6) {
            0 => doc.truncate(at),
            1 => {
                let junk = self.pick(&[
                    "{", "}", "(", ")", "[", "]", ":", "$", "@", "!", "\"", "...", "|", "#", "\\",
                    "\u{0}",
                ]);
                doc.insert_str(at, junk);
            }
            2 => {
                let end = cut(&doc, at + 1 + self.below(8));
                doc.replace_range(at..end, "");
            }
            3 => doc = self.draw(any::<String>()),
            4 => doc = doc.replace('{', "(").replace('}', ")"),
            _ => doc = format!("{doc} {}", "}".repeat(1 + self.below(3))),
        }
        doc
    }

    /// One request: mostly a generated document by POST, sometimes by GET, sometimes a
    /// malformed body or header.
    fn request(&mut self, tokens: &[(String, Option<String>)]) -> (Request<Body>, String) {
        let (who, token) = self.pick(tokens);
        let accept = match self.below(20) {
            0 => "application/json",
            1 => "text/html",
            2 => "*/*",
            _ => "application/graphql-response+json",
        };
        let (doc, vars, name) = self.document();
        let mut payload = json!({"query": doc, "variables": vars});
        if let Some(n) = name {
            payload["operationName"] = json!(n);
        }
        let body = match self.below(50) {
            0 => "{\"query\": ".to_owned(),
            1 => "[]".to_owned(),
            2 => json!({"query": 1}).to_string(),
            3 => json!({"query": doc, "variables": "x"}).to_string(),
            4 => json!({"query": doc, "operationName": 7}).to_string(),
            5 => json!({"variables": vars}).to_string(),
            6 => json!([payload.clone(), payload.clone()]).to_string(),
            7 => json!({"query": doc, "extensions": []}).to_string(),
            _ => payload.to_string(),
        };
        let mut url = format!("/graphql?query={}", percent(&doc));
        if !vars.is_empty() {
            let v = Value::Object(vars).to_string();
            url.push_str(&format!("&variables={}", percent(&v)));
        }
        // URLs stay under what proxies and the `http` crate accept.
        let get = url.len() < 8_000 && self.chance(0.05);
        let mut req = if get {
            Request::get(url)
        } else {
            let ct = if self.chance(0.02) {
                "text/plain"
            } else {
                "application/json"
            };
            Request::post("/graphql").header(header::CONTENT_TYPE, ct)
        };
        req = req.header(header::ACCEPT, accept);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let shown = format!(
            "as {who}: {}",
            if get {
                format!("GET {doc}")
            } else {
                body.clone()
            }
        );
        let body = if get { Body::empty() } else { Body::from(body) };
        (req.body(body).expect("request"), shown)
    }
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Checking an answer.

/// What was wrong with an answer, if anything; the error codes it carried.
pub fn check_answer(
    status: StatusCode,
    body: &Value,
    user_codes: &HashSet<String>,
    codes: &mut Vec<String>,
) -> Result<(), String> {
    if status.is_server_error() {
        return Err(format!("status {status}"));
    }
    let Value::Object(obj) = body else {
        return Err(format!(
            "status {status} with a body that is not a JSON object"
        ));
    };
    if let Some(errors) = obj.get("errors") {
        let list = errors.as_array().ok_or("`errors` is not a list")?;
        if list.is_empty() {
            return Err("`errors` is empty".into());
        }
        for e in list {
            match e["extensions"]["code"].as_str() {
                Some("INTERNAL") => return Err("an INTERNAL error".into()),
                Some(c) if !c.is_empty() => codes.push(c.to_owned()),
                _ => return Err(format!("an error without extensions.code: {e}")),
            }
        }
    } else if !obj.contains_key("data") {
        return Err("neither data nor errors".into());
    }
    fn user_errors(
        v: &Value,
        known: &HashSet<String>,
        codes: &mut Vec<String>,
    ) -> Result<(), String> {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "userErrors" {
                        for e in v.as_array().map(Vec::as_slice).unwrap_or_default() {
                            match e["code"].as_str() {
                                Some(c) if known.contains(c) => {
                                    codes.push(format!("userErrors:{c}"))
                                }
                                _ => return Err(format!("a userError without a known code: {e}")),
                            }
                        }
                    } else {
                        user_errors(v, known, codes)?;
                    }
                }
                Ok(())
            }
            Value::Array(a) => a.iter().try_for_each(|v| user_errors(v, known, codes)),
            _ => Ok(()),
        }
    }
    user_errors(obj.get("data").unwrap_or(&Value::Null), user_codes, codes)
}

/// Sends a request through the router; the status and the body as JSON (a string when not
/// JSON).
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.clone().oneshot(req).await.expect("router answers");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut i = n;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    format!("{}… ({} bytes)", &s[..i], s.len())
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Generated requests over the demo marketplace: none answered 5xx, every refusal coded, no
/// panic.
async fn generated(t: TestApp, cases: u64, prefix: &str) {
    let started = Instant::now();
    oms::demo::seed_if_empty(&t.app).await.expect("demo");
    let api = Arc::new(Api::introspect(&t).await);
    let pools = Arc::new(harvest(&t, &api, &t.operator(), 3).await);
    assert!(
        !pools.order_numbers.is_empty() && !pools.claim_numbers.is_empty(),
        "the demo has orders and claims"
    );
    let customers = pools.numbers("Customer");
    let sellers = pools.numbers("Seller");
    let first_customer = customers[0].to_string();
    let last_customer = customers[customers.len() - 1].to_string();
    let first_seller = sellers[0].to_string();
    let last_seller = sellers[sellers.len() - 1].to_string();
    let tokens: Vec<(String, Option<String>)> = [
        ("anonymous", None),
        ("a forged token", Some("not.a.token".to_owned())),
        ("operator", Some(t.operator())),
        ("analyst", Some(t.token(Role::Analyst, "analyst"))),
        ("customer", Some(t.token(Role::Customer, &first_customer))),
        ("customer", Some(t.token(Role::Customer, &last_customer))),
        (
            "an unknown customer",
            Some(t.token(Role::Customer, "999999")),
        ),
        ("seller", Some(t.token(Role::Seller, &first_seller))),
        ("seller", Some(t.token(Role::Seller, &last_seller))),
    ]
    .into_iter()
    .map(|(who, token)| (who.to_owned(), token))
    .collect();
    // OMS_HOSTILE_TRACE=<text>: print every request and answer that mention it.
    let trace = std::env::var("OMS_HOSTILE_TRACE").ok();
    let user_codes = Arc::new(api.enum_values("UserErrorCode"));
    eprintln!(
        "{prefix}: set up in {:.1?}: {} types, ids of {} kinds, {} orders, {} claims",
        started.elapsed(),
        api.types.len(),
        pools.ids.len(),
        pools.order_numbers.len(),
        pools.claim_numbers.len()
    );
    let seed = env_number("OMS_HOSTILE_SEED").unwrap_or(0x05EE_D0A5);
    let workers = 4u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (api, pools, user_codes, tokens, trace) = (
            api.clone(),
            pools.clone(),
            user_codes.clone(),
            tokens.clone(),
            trace.clone(),
        );
        let router = t.router.clone();
        let n = cases / workers + u64::from(w < cases % workers);
        tasks.push(tokio::spawn(async move {
            let mut generator = Gen::new(&api, &pools, seed.wrapping_add(w));
            let mut codes: BTreeMap<String, u64> = BTreeMap::new();
            let mut failures = Vec::new();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            for i in 0..n {
                let (req, shown) = generator.request(&tokens);
                let (status, body) = send(&router, req).await;
                if let Some(text) = trace.as_deref() {
                    let answer = body.to_string();
                    if shown.contains(text) || answer.contains(text) {
                        eprintln!(
                            "TRACE {w}/{i} {}\n  => {status} {}",
                            clip(&shown, 600),
                            clip(&answer, 600)
                        );
                    }
                }
                *statuses.entry(status.as_u16()).or_default() += 1;
                let mut seen = Vec::new();
                if let Err(why) = check_answer(status, &body, &user_codes, &mut seen) {
                    failures.push(format!(
                        "worker {w} case {i}: {why}\n  request: {}\n  answer: {status} {}",
                        clip(&shown, 1500),
                        clip(&body.to_string(), 1500)
                    ));
                }
                for c in seen {
                    *codes.entry(c).or_default() += 1;
                }
            }
            (codes, statuses, failures)
        }));
    }
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for task in tasks {
        let (c, s, f) = task.await.expect("worker");
        for (k, v) in c {
            *codes.entry(k).or_default() += v;
        }
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        failures.extend(f);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{prefix}: {cases} requests in {elapsed:.1?} ({:.0}/s), seed {seed:#x}\n  statuses: {statuses:?}\n  codes: {codes:?}",
        cases as f64 / elapsed.as_secs_f64()
    );
    let sent: u64 = statuses.values().sum();
    assert_eq!(sent, cases, "every request was answered");
    let panicked = panics_on(prefix);
    assert!(
        failures.is_empty() && panicked.is_empty(),
        "{} bad answers, {} panics (seed {seed:#x}); first ones:\n{}\n{}",
        failures.len(),
        panicked.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        panicked.join("\n")
    );
    // The generator reached the resolvers, not only the validator.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > cases / 5,
        "too few executed requests: {statuses:?}"
    );
    assert!(
        codes.keys().any(|c| c.starts_with("userErrors:")),
        "no business refusal was reached: {codes:?}"
    );
}

#[test]
fn generated_requests_sqlite() {
    let rt = runtime("hostile-sqlite");
    rt.block_on(async {
        let t = TestApp::new(Backend::Sqlite).await.expect("sqlite");
        let cases = env_number("OMS_HOSTILE_CASES").unwrap_or(10_000);
        generated(t, cases, "hostile-sqlite").await;
    });
}

#[test]
fn generated_requests_postgres() {
    let rt = runtime("hostile-postgres");
    rt.block_on(async {
        let Some(t) = TestApp::new(Backend::Postgres).await else {
            crate::harness::skip_postgres();
            return;
        };
        let cases = env_number("OMS_HOSTILE_CASES").unwrap_or(10_000) / 4;
        generated(t, cases, "hostile-postgres").await;
    });
}

/// The floods are refused by the configured limits, each with its code, and cheaply.
#[test]
fn floods_are_refused_by_the_limits() {
    let rt = runtime("hostile-floods");
    rt.block_on(async {
        let t = TestApp::with_limits(Backend::Sqlite, LimitArgs::default())
            .await
            .expect("sqlite");
        floods(&t).await;
    });
    let panicked = panics_on("hostile-floods");
    assert!(panicked.is_empty(), "{panicked:?}");
}

/// POSTs a raw body; the status, the first error code and the time it took.
async fn raw(t: &TestApp, token: &str, body: String) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let (status, body) = t.post_body(Some(token), body).await;
    (status, body, started.elapsed())
}

fn first_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("-")
}

async fn floods(t: &TestApp) {
    let ops = t.operator();
    let limits = &t.app.limits;
    let query = |q: String| json!({ "query": q }).to_string();

    // An oversized body: refused before it is parsed.
    let big = format!(
        "{{ viewer {{ role }} }} #{}",
        "x".repeat(limits.max_body_bytes)
    );
    let (status, body, _) = raw(t, &ops, query(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(first_code(&body), "PAYLOAD_TOO_LARGE", "{body}");

    // Too deep: one level past the limit, and a hundred thousand levels.
    let deep = |n: usize| format!("{}{}", "{ viewer ".repeat(n), "}".repeat(n));
    let q = format!(
        "{{ orders {{ edges {{ node {{ {}id{} }} }} }} }}",
        "lines { ".repeat(limits.max_depth - 3),
        " }".repeat(limits.max_depth - 3)
    );
    let (status, body, _) = raw(t, &ops, query(q)).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "QUERY_TOO_DEEP"),
        "{body}"
    );
    let (status, body, took) = raw(t, &ops, query(deep(100_000))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        clip(&body.to_string(), 300)
    );
    assert_eq!(first_code(&body), "DOCUMENT_TOO_NESTED");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An alias flood: 5,000 aliases of the cheapest field, refused by --max-aliases before
    // anything runs; the limit itself is allowed.
    let aliases = |n: usize| -> String { (0..n).map(|i| format!("a{i}: __typename ")).collect() };
    let (status, body, _) = raw(t, &ops, query(format!("{{ {} }}", aliases(5_000)))).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "TOO_MANY_ALIASES"),
        "{}",
        clip(&body.to_string(), 300)
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("--max-aliases"));
    let (status, body, _) = raw(
        t,
        &ops,
        query(format!("{{ {} }}", aliases(limits.max_aliases))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", clip(&body.to_string(), 300));
    let (_, body, _) = raw(
        t,
        &ops,
        query(format!("{{ {} }}", aliases(limits.max_aliases + 1))),
    )
    .await;
    assert_eq!(first_code(&body), "TOO_MANY_ALIASES");
    // Aliases hidden in a fragment count too.
    let q = format!(
        "{{ ...F }} fragment F on Query {{ {} }}",
        aliases(limits.max_aliases + 1)
    );
    let (_, body, _) = raw(t, &ops, query(q)).await;
    assert_eq!(first_code(&body), "TOO_MANY_ALIASES");
    // Under the alias limit, complexity counts every field of every alias: 99 aliases of 210
    // fields each are over 20,000.
    let fields = "role ".repeat(210);
    let wide: String = (0..limits.max_aliases - 1)
        .map(|i| format!("v{i}: viewer {{ {fields} }} "))
        .collect();
    let (status, body, _) = raw(t, &ops, query(format!("{{ {wide} }}"))).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "QUERY_TOO_COMPLEX"),
        "{}",
        clip(&body.to_string(), 300)
    );

    // A batch flood: an array of 10,000 operations, refused whole and fast.
    let one = json!({"query": "{ viewer { role } }"});
    let batch = Value::Array(vec![one; 10_000]).to_string();
    let (status, body, took) = raw(t, &ops, batch).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A huge variables object (50,000 unused variables, ~1 MB): no harm done.
    let vars: Map<String, Value> = (0..50_000)
        .map(|i| (format!("v{i}"), json!("xxxxxxxx")))
        .collect();
    let (status, body, took) = raw(
        t,
        &ops,
        json!({"query": "{ viewer { role } }", "variables": vars}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["viewer"]["role"], "OPERATOR");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Deeply nested input values: in the variables (past the JSON parser's nesting limit), in
    // the document, and within the limits but to a field that takes no such shape.
    let nested = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, body, _) = raw(
        t,
        &ops,
        format!(r#"{{"query": "query($f: OrderFilterInput) {{ orders(filter: $f) {{ totalCount }} }}", "variables": {{"f": {nested}}}}}"#),
    )
    .await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    let (status, body, _) = raw(
        t,
        &ops,
        query(format!(
            "{{ orders(filter: {{status: {nested}}}) {{ totalCount }} }}"
        )),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_code(&body), "DOCUMENT_TOO_NESTED");
    let objects = format!("{}1{}", "{a: ".repeat(100), "}".repeat(100));
    let (status, body, _) = raw(
        t,
        &ops,
        query(format!("{{ orders(filter: {objects}) {{ totalCount }} }}")),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_ne!(first_code(&body), "-", "{body}");
    let lists = json!({"query": "query($f: OrderFilterInput) { orders(filter: $f) { totalCount } }", "variables": {"f": {"status": [[[[[[[["PAID"]]]]]]]]}}});
    let (status, body, _) = raw(t, &ops, lists.to_string()).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert_ne!(first_code(&body), "-", "{body}");

    // A fragment cycle.
    let q = "{ ...A } fragment A on Query { viewer { role } ...B } fragment B on Query { ...A }";
    let (status, body, _) = raw(t, &ops, query(q.into())).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );

    // Thousands of directives: on one field, and spread over fields.
    let q = format!(
        "{{ viewer{} {{ role }} }}",
        " @include(if: true)".repeat(5_000)
    );
    let (status, body, _) = raw(t, &ops, query(q)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        clip(&body.to_string(), 300)
    );
    assert_eq!(first_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let q = format!(
        "{{ viewer {{ {} }} }}",
        "role @skip(if: false) ".repeat(5_000)
    );
    let (status, body, took) = raw(t, &ops, query(q)).await;
    assert!(status.as_u16() < 500, "{status}");
    if status != StatusCode::OK {
        assert_ne!(first_code(&body), "-", "{body}");
    }
    assert!(took < Duration::from_secs(5), "{took:?}");
}

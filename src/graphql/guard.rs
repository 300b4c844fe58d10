//! The document guard: what a stranger's GraphQL document may cost, measured before the
//! parser, the validator and the executor see it (graphql-java and Hot Chocolate bound their
//! parsers the same way after stack-overflow reports).
//!
//! async-graphql parses values, list types and (through pest) every nested rule by recursion
//! with no depth bound, so `[[[…2,000 levels…]]]` overflows a worker's stack and aborts the
//! process; and its validation walks fragment spreads without memory, so a document of 40
//! fragments, each spreading the previous one twice, asks for 2⁴⁰ steps of synchronous work
//! that no timeout can interrupt. Three checks, each linear in the document, close both:
//!
//! 1. [`prescan`]: a lexical pass (strings, block strings and comments skipped) that refuses
//!    nesting of `{`, `[` and `(` deeper than `--max-nesting`, before anything recursive runs.
//! 2. [`parse`] then parses it (safe now) and answers syntax errors without echoing the input.
//! 3. [`check`] walks the parsed document once, with each fragment's cost remembered: it
//!    refuses fragment cycles, fragment chains deeper than the recursion limit, documents whose
//!    selections, with every fragment spread expanded, exceed `--max-document-nodes`, and more
//!    than `--max-aliases` aliased fields once fragment spreads are expanded.
//!
//! The HTTP handler runs all three and hands the parsed document to async-graphql
//! (`Request::set_parsed_query`), so it is parsed once; WebSocket clients go through the same
//! checks in [`DocumentGuard`], an extension of the socket schema.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextSubscribe,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult};
use futures_util::stream::{BoxStream, StreamExt};

use crate::codes::ErrorCode;
use crate::config::LimitArgs;
use crate::domain::text::Grouped;
use crate::graphql::depth::{
    self, IntrospectionRefusal, INTROSPECTION_MAX_DEPTH, INTROSPECTION_MAX_LISTS,
    INTROSPECTION_MAX_SELECTIONS,
};

/// Field nesting plus fragment spreads that async-graphql accepts (`limit_recursive_depth`);
/// the guard refuses deeper documents itself, so that its own walk is bounded too.
pub const MAX_RECURSION: usize = 64;

/// The longest name (of a field, alias, argument, variable, fragment, operation, type or
/// directive) a document may write. The schema's longest is under 40 characters; validation
/// compares an unknown name with every known one to suggest a fix, so its cost grows with the
/// name's length.
pub const MAX_NAME: usize = 255;

/// The longest error message sent back: a validation message may quote a value the client
/// sent (an unknown enum value of 100 KB), which is not worth sending back whole.
pub const MAX_MESSAGE: usize = 1_000;

/// The limits a document must keep, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Deepest nesting of `{`, `[` and `(` anywhere in the document (`--max-nesting`).
    pub max_nesting: usize,
    /// Most selections once every fragment spread is expanded (`--max-document-nodes`).
    pub max_nodes: u64,
    /// Most aliased fields the document runs, fragment spreads expanded (`--max-aliases`).
    pub max_aliases: usize,
    /// Deepest nesting of fields outside introspection (`--max-depth`); introspection has its
    /// own bound (`graphql::depth`).
    pub max_depth: usize,
}

impl DocumentLimits {
    /// The configured limits.
    pub fn from_args(limits: &LimitArgs) -> Self {
        DocumentLimits {
            max_nesting: limits.max_nesting,
            max_nodes: limits.max_document_nodes,
            max_aliases: limits.max_aliases,
            max_depth: limits.max_depth,
        }
    }
}

/// Why a document was refused before it ran. Each is a request error with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Brackets nested deeper than the limit.
    #[error("the document nests `{{`, `[` or `(` {depth} levels deep at line {line}, more than the limit of {limit} (--max-nesting)")]
    TooNested {
        /// How deep it got before the scan stopped.
        depth: usize,
        /// The line where it went past the limit.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// A name longer than [`MAX_NAME`].
    #[error("the document writes a name of {length} characters at line {line}, longer than the limit of {MAX_NAME}")]
    NameTooLong {
        /// The name's length.
        length: usize,
        /// Where it starts.
        line: usize,
    },
    /// Not GraphQL.
    #[error("the document does not parse: {0}")]
    Syntax(String),
    /// A fragment that spreads itself, directly or through others.
    #[error("fragment `{0}` spreads itself (directly or through other fragments); fragments must not form cycles")]
    FragmentCycle(String),
    /// Fields and fragment spreads nested deeper than async-graphql's recursion limit.
    #[error("the document nests fields and fragment spreads deeper than {MAX_RECURSION} levels")]
    TooDeep,
    /// Too many selections once fragments are expanded.
    #[error("the document has {} selections once its fragment spreads are expanded (counting each fragment's definition too, as validation walks it), more than the limit of {limit} (--max-document-nodes)", at_least(*nodes))]
    TooManyNodes {
        /// Selections counted (it stops counting a little past the limit).
        nodes: u64,
        /// The limit.
        limit: u64,
    },
    /// Too many variable or fragment definitions: validation answers each unused or
    /// unknown one with an error of its own.
    #[error("the document defines {count} {what}, more than the limit of {limit}")]
    TooManyDefinitions {
        /// `variables` or `fragments`.
        what: &'static str,
        /// How many it defines.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Fields nested deeper than `--max-depth` (outside introspection).
    #[error(
        "the query is nested {depth} fields deep, deeper than the limit of {limit} (--max-depth)"
    )]
    QueryTooDeep {
        /// How deep it reaches.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// Introspection (`__schema`, `__type`) past its own bound.
    #[error("{}", introspection_message(.0))]
    Introspection(IntrospectionRefusal),
    /// Too many aliases.
    #[error("the document runs {aliases} aliased fields (each fragment spread counting its fragment's aliases again), more than the limit of {limit} (--max-aliases)")]
    TooManyAliases {
        /// Aliases written.
        aliases: usize,
        /// The limit.
        limit: usize,
    },
}

impl Refusal {
    /// The `extensions.code` clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooNested { .. } => ErrorCode::DocumentTooNested.as_str(),
            Refusal::NameTooLong { .. } => ErrorCode::NameTooLong.as_str(),
            Refusal::Syntax(_) => ErrorCode::GraphqlParseFailed.as_str(),
            Refusal::FragmentCycle(_) => ErrorCode::GraphqlValidationFailed.as_str(),
            Refusal::TooDeep => ErrorCode::DocumentTooNested.as_str(),
            Refusal::TooManyNodes { .. } | Refusal::TooManyDefinitions { .. } => {
                ErrorCode::DocumentTooLarge.as_str()
            }
            Refusal::TooManyAliases { .. } => ErrorCode::TooManyAliases.as_str(),
            Refusal::QueryTooDeep { .. }
            | Refusal::Introspection(IntrospectionRefusal::TooDeep(_)) => {
                ErrorCode::QueryTooDeep.as_str()
            }
            Refusal::Introspection(_) => ErrorCode::IntrospectionTooComplex.as_str(),
        }
    }

    /// As a GraphQL error.
    pub fn to_server_error(&self) -> ServerError {
        coded(self.to_string(), self.code())
    }
}

/// A request error with `extensions.code` and no location (it is about the whole document).
fn coded(message: String, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

/// What an introspection refusal says: the bound, and what the standard queries need.
fn introspection_message(refusal: &IntrospectionRefusal) -> String {
    match refusal {
        IntrospectionRefusal::TooDeep(depth) => format!(
            "the introspection (`__schema`, `__type`) is nested {depth} fields deep, deeper than \
             its own limit of {INTROSPECTION_MAX_DEPTH} (the standard introspection queries reach \
             13 to 15)"
        ),
        IntrospectionRefusal::Nested(what) => format!(
            "the introspection selects {what} inside itself on one path (a type's fields' types' \
             fields …); list each type's members once, from `types` or `__type`, as the standard \
             introspection query does"
        ),
        IntrospectionRefusal::TooManySelections(nodes) => format!(
            "the introspection has {nodes} selections once its fragment spreads are expanded \
             (aliases counted each time), more than its own limit of \
             {INTROSPECTION_MAX_SELECTIONS} (the standard introspection query has 229)"
        ),
        IntrospectionRefusal::TooManyLists(lists) => format!(
            "the introspection selects {lists} lists of definitions (fragment spreads and aliases \
             counted each time), more than its own limit of {INTROSPECTION_MAX_LISTS} (the \
             standard introspection query selects 9)"
        ),
    }
}

/// "at least 63,063", or "more than 18 billion billion" once the count saturated.
fn at_least(nodes: u64) -> String {
    if nodes == u64::MAX {
        return "more than 18 billion billion".into();
    }
    format!(
        "at least {}",
        Grouped(usize::try_from(nodes).unwrap_or(usize::MAX))
    )
}

/// Most variables a document may define (no operation of this schema needs more than a few).
pub const MAX_VARIABLES: usize = 500;

/// Most fragments a document may define.
pub const MAX_FRAGMENTS: usize = 1_000;

/// Most errors one response carries: a document can be wrong in a hundred thousand places, and
/// the first hundred say what to fix.
pub const MAX_ERRORS: usize = 100;

/// Refuses nesting of `{`, `[` and `(` deeper than `max_nesting`, and names longer than
/// [`MAX_NAME`], in one pass over the text. String literals, block strings and comments are
/// skipped, so brackets inside them do not count. Unbalanced or otherwise malformed text is
/// left for the parser to explain.
pub fn prescan(query: &str, max_nesting: usize) -> Result<(), Refusal> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(Refusal::TooNested {
                        depth,
                        line,
                        limit: max_nesting,
                    });
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            b'_' | b'A'..=b'Z' | b'a'..=b'z' => {
                let start = i;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                if i - start > MAX_NAME {
                    return Err(Refusal::NameTooLong {
                        length: i - start,
                        line,
                    });
                }
                continue;
            }
            // Digits on their own (a number; a name's digits were taken with the name).
            b'0'..=b'9' => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next unescaped `"""`; `\"""` is an escape.
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                        continue;
                    }
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Parses a document that passed [`prescan`], and checks it. Syntax errors say where and what
/// was expected, without quoting the input back (pest's messages repeat the whole line, which
/// for a one-line document of 200 KB is 200 KB of error).
pub fn parse(query: &str, limits: DocumentLimits) -> Result<ExecutableDocument, Refusal> {
    prescan(query, limits.max_nesting)?;
    let doc = async_graphql::parser::parse_query(query).map_err(|e| syntax(&e))?;
    check(&doc, limits)?;
    Ok(doc)
}

fn syntax(e: &async_graphql::parser::Error) -> Refusal {
    use async_graphql::parser::Error;
    match e {
        Error::Syntax { message, start, .. } => {
            // pest ends its message with `= expected …` (the rules it wanted); keep only that.
            let expected = message
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("= "))
                .unwrap_or("unexpected input");
            let expected: String = expected.chars().take(200).collect();
            Refusal::Syntax(format!(
                "{expected} at line {}, column {}",
                start.line, start.column
            ))
        }
        Error::RecursionLimitExceeded => Refusal::TooDeep,
        other => Refusal::Syntax(other.to_string()),
    }
}

/// Checks a parsed document: fragment cycles, the recursion limit, the expanded size and the
/// aliases. Linear in the document: each fragment is walked once and its cost remembered.
pub fn check(doc: &ExecutableDocument, limits: DocumentLimits) -> Result<(), Refusal> {
    let variables: usize = doc
        .operations
        .iter()
        .map(|(_, op)| op.node.variable_definitions.len())
        .sum();
    for (what, count, limit) in [
        ("variables", variables, MAX_VARIABLES),
        ("fragments", doc.fragments.len(), MAX_FRAGMENTS),
    ] {
        if count > limit {
            return Err(Refusal::TooManyDefinitions { what, count, limit });
        }
    }
    let mut walk = Walk {
        doc,
        fragments: HashMap::new(),
    };
    let mut total: u64 = 0;
    let over = |total: u64| total > limits.max_nodes;
    for (_, op) in doc.operations.iter() {
        let cost = walk.set(&op.node.selection_set.node, 0)?;
        total = total.saturating_add(cost.nodes);
        if over(total) {
            return Err(Refusal::TooManyNodes {
                nodes: total,
                limit: limits.max_nodes,
            });
        }
    }
    // Validation also walks each fragment definition on its own.
    for name in doc.fragments.keys() {
        let cost = walk.fragment(name.as_str(), 0)?;
        total = total.saturating_add(cost.nodes);
        if over(total) {
            return Err(Refusal::TooManyNodes {
                nodes: total,
                limit: limits.max_nodes,
            });
        }
    }
    // Aliases and depth last: the walk above has refused cycles and nesting past the
    // recursion limit, so expanding fragments below is bounded.
    let aliases = count_aliases(doc);
    if aliases > limits.max_aliases {
        return Err(Refusal::TooManyAliases {
            aliases,
            limit: limits.max_aliases,
        });
    }
    let reach = depth::reach(doc);
    if reach.data.depth > limits.max_depth {
        return Err(Refusal::QueryTooDeep {
            depth: reach.data.depth,
            limit: limits.max_depth,
        });
    }
    if let Some(refusal) = reach.introspection_refusal() {
        return Err(Refusal::Introspection(refusal));
    }
    Ok(())
}

/// What a selection set costs once expanded: its selections counted, and how deep it reaches
/// below itself (fields and spreads, as async-graphql's recursion limit counts them).
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: u64,
    height: usize,
}

/// A fragment being walked (a cycle when met again) or walked already.
enum Seen {
    Walking,
    Done(Cost),
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Seen>,
}

impl<'a> Walk<'a> {
    /// `level` is how deep this set sits; the walk itself never goes past [`MAX_RECURSION`].
    fn set(&mut self, set: &'a SelectionSet, level: usize) -> Result<Cost, Refusal> {
        if level > MAX_RECURSION {
            return Err(Refusal::TooDeep);
        }
        let mut cost = Cost::default();
        for item in &set.items {
            let below = match &item.node {
                Selection::Field(f) => {
                    if f.node.selection_set.node.items.is_empty() {
                        Cost::default()
                    } else {
                        let c = self.set(&f.node.selection_set.node, level + 1)?;
                        Cost {
                            nodes: c.nodes,
                            height: c.height + 1,
                        }
                    }
                }
                Selection::InlineFragment(f) => {
                    let c = self.set(&f.node.selection_set.node, level + 1)?;
                    Cost {
                        nodes: c.nodes,
                        height: c.height + 1,
                    }
                }
                Selection::FragmentSpread(s) => {
                    let c = self.fragment(s.node.fragment_name.node.as_str(), level + 1)?;
                    Cost {
                        nodes: c.nodes,
                        height: c.height + 1,
                    }
                }
            };
            if level + below.height > MAX_RECURSION {
                return Err(Refusal::TooDeep);
            }
            cost.nodes = cost.nodes.saturating_add(1).saturating_add(below.nodes);
            cost.height = cost.height.max(below.height);
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, level: usize) -> Result<Cost, Refusal> {
        match self.fragments.get(name) {
            Some(Seen::Done(cost)) => return Ok(*cost),
            Some(Seen::Walking) => return Err(Refusal::FragmentCycle(name.to_owned())),
            None => {}
        }
        // An unknown fragment costs nothing here; validation names it.
        let Some((key, def)) = self.doc.fragments.get_key_value(name) else {
            return Ok(Cost::default());
        };
        self.fragments.insert(key.as_str(), Seen::Walking);
        let cost = self.set(&def.node.selection_set.node, level)?;
        self.fragments.insert(key.as_str(), Seen::Done(cost));
        Ok(cost)
    }
}

/// How many aliased fields a document runs: each fragment spread counts its fragment's aliases
/// again (a fragment of two aliases spread twice, each spreading another such fragment, runs
/// its fields four times). Each alias runs its field again, so a flood of them multiplies the
/// work of one cheap field, written out or hidden in fragments. Only for a document whose
/// fragments form no cycle ([`check`] walks them first); each fragment is counted once and
/// remembered.
pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn in_set<'a>(
        doc: &'a ExecutableDocument,
        set: &'a SelectionSet,
        fragments: &mut HashMap<&'a str, u64>,
    ) -> u64 {
        set.items.iter().fold(0u64, |sum, item| {
            let here = match &item.node {
                Selection::Field(f) => u64::from(f.node.alias.is_some()).saturating_add(in_set(
                    doc,
                    &f.node.selection_set.node,
                    fragments,
                )),
                Selection::InlineFragment(f) => in_set(doc, &f.node.selection_set.node, fragments),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match (fragments.get(name), doc.fragments.get_key_value(name)) {
                        (Some(known), _) => *known,
                        (None, Some((key, def))) => {
                            let n = in_set(doc, &def.node.selection_set.node, fragments);
                            fragments.insert(key.as_str(), n);
                            n
                        }
                        (None, None) => 0,
                    }
                }
            };
            sum.saturating_add(here)
        })
    }
    let mut fragments = HashMap::new();
    let total = doc.operations.iter().fold(0u64, |sum, (_, op)| {
        sum.saturating_add(in_set(doc, &op.node.selection_set.node, &mut fragments))
    });
    usize::try_from(total).unwrap_or(usize::MAX)
}

/// Gives every error of a response a code and a bounded message, the same on HTTP and on the
/// WebSocket: async-graphql's own limit refusals are rewritten to name the limit and its value
/// (`QUERY_TOO_DEEP`, `QUERY_TOO_COMPLEX`); an error without a path is the document's
/// (`GRAPHQL_VALIDATION_FAILED`); a field error without a code can only come from async-graphql
/// coercing the field's arguments, so it is the caller's input (`BAD_USER_INPUT`). Resolvers'
/// errors carry their code already (`error::to_graphql_error`).
pub fn code_errors(errors: &mut Vec<ServerError>, limits: &LimitArgs) {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - (MAX_ERRORS - 1);
        errors.truncate(MAX_ERRORS - 1);
        errors.push(coded(
            format!("{more} more errors left out; fix the ones above and send the document again"),
            ErrorCode::TooManyErrors.as_str(),
        ));
    }
    for e in errors.iter_mut() {
        let explained = match e.message.as_str() {
            "Query is nested too deep." => Some((
                format!(
                    "the query is nested deeper than the limit of {} (--max-depth)",
                    limits.max_depth
                ),
                ErrorCode::QueryTooDeep.as_str(),
            )),
            "Query is too complex." => Some((
                format!(
                    "the query is more complex than the limit of {} (--max-complexity)",
                    limits.max_complexity
                ),
                ErrorCode::QueryTooComplex.as_str(),
            )),
            _ => None,
        };
        let coded = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        let code = match explained {
            Some((message, code)) => {
                e.message = message;
                Some(code)
            }
            None if coded => None,
            None if e.path.is_empty() => Some(ErrorCode::GraphqlValidationFailed.as_str()),
            None => Some(ErrorCode::BadUserInput.as_str()),
        };
        if let Some(code) = code {
            let mut ext = e.extensions.take().unwrap_or_default();
            ext.set("code", code);
            e.extensions = Some(ext);
        }
        if e.message.chars().count() > MAX_MESSAGE {
            e.message = e.message.chars().take(MAX_MESSAGE - 1).collect::<String>() + "…";
        }
    }
}

/// The guard for WebSocket clients: async-graphql-axum parses their messages itself, so the
/// socket schema runs [`parse`] in `prepare_request` and hands async-graphql the parsed
/// document, and codes every answer with [`code_errors`]. (HTTP does without the extension:
/// any extension costs every field a hop through its chain, and the HTTP handler does the
/// same itself.)
pub struct DocumentGuard(pub LimitArgs);

impl ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentGuardExtension(Arc::new(self.0.clone())))
    }
}

struct DocumentGuardExtension(Arc<LimitArgs>);

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentGuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let doc = parse(&request.query, DocumentLimits::from_args(&self.0))
            .map_err(|r| r.to_server_error())?;
        request.set_parsed_query(doc);
        next.run(ctx, request).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let limits = self.0.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                code_errors(&mut response.errors, &limits);
                response
            })
            .boxed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_nesting: 64,
        max_nodes: 20_000,
        max_aliases: 100,
        max_depth: 12,
    };

    fn refusal(q: &str) -> Option<Refusal> {
        parse(q, LIMITS).err()
    }

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        // The braces of `{ order(…) { id } }` add three levels to the list's.
        let q = |n: usize| format!("{{ order(orderNumber: {}) {{ id }} }}", nested(n));
        assert!(prescan(&q(62), 64).is_ok());
        assert!(matches!(
            prescan(&q(63), 64),
            Err(Refusal::TooNested { depth: 65, .. })
        ));
        let deep_text = format!("{{ a(s: \"{}\") }}", "[{(".repeat(10_000));
        assert!(prescan(&deep_text, 64).is_ok());
        let block = format!(
            "{{ a(s: \"\"\"{} \\\"\"\" {}\"\"\") }}",
            "[".repeat(500),
            "{"
        );
        assert!(prescan(&block, 64).is_ok());
        let comment = format!("{{ a # {}\n }}", "[".repeat(500));
        assert!(prescan(&comment, 64).is_ok());
        let escaped = format!("{{ a(s: \"\\\"{}\") }}", "[".repeat(500));
        assert!(prescan(&escaped, 64).is_ok());
        // Objects and list types nest too.
        let objects = format!("{{ a(f: {}1{}) }}", "{a: ".repeat(100), "}".repeat(100));
        assert_eq!(refusal(&objects).unwrap().code(), "DOCUMENT_TOO_NESTED");
        let types = format!(
            "query($v: {}Int{}) {{ a }}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(refusal(&types).unwrap().code(), "DOCUMENT_TOO_NESTED");
    }

    #[test]
    fn fragment_fan_out_is_counted_once_per_fragment() {
        // F(i) spreads F(i-1) twice: 2^30 selections when expanded, 60 lines written.
        let mut q = String::from("fragment F0 on Query { __typename }\n");
        for i in 1..=30 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        q.push_str("query { ...F30 }");
        let started = std::time::Instant::now();
        let r = refusal(&q).unwrap();
        assert_eq!(r.code(), "DOCUMENT_TOO_LARGE", "{r}");
        assert!(started.elapsed() < std::time::Duration::from_millis(200));
        // Ten levels (2,047 + the definitions) fit.
        let mut small = String::from("fragment F0 on Query { __typename }\n");
        for i in 1..=10 {
            small.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        small.push_str("query { ...F10 }");
        assert_eq!(refusal(&small), None);
    }

    #[test]
    fn node_budget_at_the_limit_and_one_past() {
        let limits = DocumentLimits {
            max_nodes: 100,
            ..LIMITS
        };
        let q = |n: usize| format!("{{ {} }}", "__typename ".repeat(n));
        assert!(parse(&q(100), limits).is_ok());
        assert!(matches!(
            parse(&q(101), limits),
            Err(Refusal::TooManyNodes { nodes: 101, .. })
        ));
    }

    #[test]
    fn cycles_and_long_chains_are_refused() {
        let cycle = "{ ...A } fragment A on Query { a ...B } fragment B on Query { ...A }";
        assert!(matches!(refusal(cycle), Some(Refusal::FragmentCycle(_))));
        let selfish = "{ ...A } fragment A on Query { ...A ...A }";
        assert!(matches!(refusal(selfish), Some(Refusal::FragmentCycle(_))));
        let chain = |n: usize| {
            let mut q = String::from("{ ...F0 } ");
            for i in 0..n {
                q.push_str(&format!("fragment F{i} on Query {{ ...F{} }} ", i + 1));
            }
            q.push_str(&format!("fragment F{n} on Query {{ a }}"));
            q
        };
        assert_eq!(refusal(&chain(40)), None);
        assert_eq!(refusal(&chain(900)), Some(Refusal::TooDeep));
        // Past the fragment limit the count refuses it first.
        assert!(matches!(
            refusal(&chain(5_000)),
            Some(Refusal::TooManyDefinitions { .. })
        ));
    }

    #[test]
    fn names_at_the_limit_and_one_past() {
        let name = |n: usize| format!("f{}", "x".repeat(n - 1));
        assert_eq!(prescan(&format!("{{ {} }}", name(MAX_NAME)), 64), Ok(()));
        assert!(matches!(
            prescan(&format!("{{ a: {} }}", name(MAX_NAME + 1)), 64),
            Err(Refusal::NameTooLong { length: 256, .. })
        ));
        // Numbers and strings are not names.
        assert_eq!(
            prescan(&format!("{{ a(n: {}) }}", "9".repeat(10_000)), 64),
            Ok(())
        );
        assert_eq!(
            prescan(&format!("{{ a(s: \"{}\") }}", "x".repeat(10_000)), 64),
            Ok(())
        );
    }

    #[test]
    fn syntax_errors_do_not_echo_the_input() {
        let long = format!("{{ a(s: \"{}\") ", "x".repeat(200_000));
        let r = refusal(&long).unwrap();
        assert_eq!(r.code(), "GRAPHQL_PARSE_FAILED");
        assert!(r.to_string().len() < 400, "{}", r.to_string().len());
        assert!(r.to_string().contains("line 1"), "{r}");
    }

    /// graphql-js's `getIntrospectionQuery()` with every option GraphiQL uses.
    const STANDARD_INTROSPECTION: &str =
        include_str!("../../tests/fixtures/introspection-graphql-js.graphql");

    #[test]
    fn data_depth_at_the_limit_and_one_past() {
        // `viewer` is 1 deep; each `{ viewer` adds one (validation would refuse it; depth is
        // counted first).
        let deep = |n: usize| format!("{}{}", "{ viewer ".repeat(n), "}".repeat(n));
        assert_eq!(refusal(&deep(12)), None);
        assert_eq!(
            refusal(&deep(13)),
            Some(Refusal::QueryTooDeep {
                depth: 13,
                limit: 12
            })
        );
        // Through a fragment spread at the root, an inline fragment and a fragment: `a` is 1
        // deep, the fragment adds n + 1 fields below it.
        let fields = |n: usize| format!("{}x{}", "b { ".repeat(n), " }".repeat(n));
        let spread = |n: usize| {
            format!(
                "{{ ...R }} fragment R on Query {{ ... on Query {{ a {{ ...F }} }} }} \
                 fragment F on A {{ {} }}",
                fields(n)
            )
        };
        assert_eq!(refusal(&spread(10)), None);
        assert_eq!(
            refusal(&spread(11)),
            Some(Refusal::QueryTooDeep {
                depth: 13,
                limit: 12
            })
        );
    }

    #[test]
    fn standard_introspection_passes_whatever_the_data_limit() {
        let strict = DocumentLimits {
            max_depth: 2,
            ..LIMITS
        };
        let doc = parse(STANDARD_INTROSPECTION, strict).unwrap();
        let reach = depth::reach(&doc);
        assert_eq!(reach.introspection.depth, 15);
        assert_eq!(reach.data.depth, 0);
        assert_eq!(reach.introspection_refusal(), None);
        // Data beside it keeps the data's limit.
        let with_data = STANDARD_INTROSPECTION.replacen(
            "__schema {",
            "orders { edges { node { id } } } __schema {",
            1,
        );
        assert_eq!(
            parse(&with_data, strict).err(),
            Some(Refusal::QueryTooDeep { depth: 4, limit: 2 })
        );
        assert!(parse(&with_data, LIMITS).is_ok());
    }

    #[test]
    fn introspection_has_its_own_bound() {
        let code = |q: &str| refusal(q).map(|r| r.code());
        // Depth: `ofType` chains to the limit and one past it.
        let chain = |n: usize| {
            format!(
                "{{ __type(name: \"Query\") {{ {}kind{} }} }}",
                "ofType { ".repeat(n),
                " }".repeat(n)
            )
        };
        assert_eq!(refusal(&chain(INTROSPECTION_MAX_DEPTH - 2)), None);
        assert_eq!(
            refusal(&chain(INTROSPECTION_MAX_DEPTH - 1)),
            Some(Refusal::Introspection(IntrospectionRefusal::TooDeep(21)))
        );
        assert_eq!(
            code(&chain(INTROSPECTION_MAX_DEPTH - 1)),
            Some("QUERY_TOO_DEEP")
        );
        // A type's fields' types' fields: the schema multiplied by itself.
        assert_eq!(
            code("{ __schema { types { fields { type { fields { name } } } } } }"),
            Some("INTROSPECTION_TOO_COMPLEX")
        );
        assert_eq!(
            code("{ __type(name: \"Query\") { fields { type { ofType { inputFields { name } } } } } }"),
            Some("INTROSPECTION_TOO_COMPLEX")
        );
        assert_eq!(
            code("{ __schema { directives { args { type { fields { args { name } } } } } } }"),
            Some("INTROSPECTION_TOO_COMPLEX")
        );
        // Hidden in fragments, and in a fragment spread at the root.
        let hidden = "{ ...R } fragment R on Query { __schema { types { ...T } } } \
                      fragment T on __Type { fields { type { ...U } } } \
                      fragment U on __Type { possibleTypes { name } }";
        assert_eq!(code(hidden), Some("INTROSPECTION_TOO_COMPLEX"));
        // Lists in all: at the limit and one past it, aliases counted each time.
        let lists = |n: usize| {
            let aliased: String = (0..n).map(|i| format!("t{i}: types {{ name }} ")).collect();
            format!("{{ __schema {{ {aliased} }} }}")
        };
        let limit = usize::try_from(INTROSPECTION_MAX_LISTS).unwrap();
        assert_eq!(refusal(&lists(limit)), None);
        assert_eq!(
            refusal(&lists(limit + 1)),
            Some(Refusal::Introspection(IntrospectionRefusal::TooManyLists(
                25
            )))
        );
        // A fragment spread twice counts twice (9 lists each).
        let twice = "{ a: __schema { ...S } b: __schema { ...S } } \
                     fragment S on __Schema { types { fields { args { name } } inputFields { name } \
                     interfaces { name } possibleTypes { name } enumValues { name } } \
                     directives { args { name } } }";
        assert_eq!(refusal(twice), None);
        let thrice = twice.replace(
            "b: __schema { ...S }",
            "b: __schema { ...S } c: __schema { ...S }",
        );
        assert_eq!(
            refusal(&thrice),
            Some(Refusal::Introspection(IntrospectionRefusal::TooManyLists(
                27
            )))
        );
        // Aliased copies hidden in fragments that spread each other: few lists, few written
        // aliases, but every copy runs for every field of the schema (a stranger's 1 KB
        // document answered 28 MB in 30 s before this bound).
        let attack = format!(
            "{{ __schema {{ types {{ fields {{ ...A }} }} }} }} \
             fragment A on __Field {{ name {} }} \
             fragment T on __Type {{ name kind {} }} \
             fragment U on __Type {{ name kind {} }}",
            (0..10)
                .map(|i| format!("a{i}: type {{ ...T }} "))
                .collect::<String>(),
            (0..10)
                .map(|i| format!("b{i}: ofType {{ ...U }} "))
                .collect::<String>(),
            (0..10)
                .map(|i| format!("c{i}: ofType {{ name kind }} "))
                .collect::<String>(),
        );
        // 1,110 aliased fields run: refused by --max-aliases, and past it by this bound.
        assert!(matches!(
            refusal(&attack),
            Some(Refusal::TooManyAliases { aliases: 1_110, .. })
        ));
        let many_aliases = DocumentLimits {
            max_aliases: 10_000,
            ..LIMITS
        };
        assert!(matches!(
            parse(&attack, many_aliases).err(),
            Some(Refusal::Introspection(
                IntrospectionRefusal::TooManySelections(_)
            ))
        ));
        // Selections at the limit and one past it: `types { name … }` is 2 + the names.
        let names = |n: usize| {
            let names: String = (0..n).map(|i| format!("n{i}: name ")).collect();
            format!("{{ __schema {{ types {{ {names} }} }} }}")
        };
        let limit = usize::try_from(INTROSPECTION_MAX_SELECTIONS).unwrap();
        let wide = DocumentLimits {
            max_aliases: 1_000,
            ..LIMITS
        };
        assert!(parse(&names(limit - 2), wide).is_ok());
        assert_eq!(
            parse(&names(limit - 1), wide).err(),
            Some(Refusal::Introspection(
                IntrospectionRefusal::TooManySelections(301)
            ))
        );
        // The data's own fields named like introspection's are not introspection.
        assert_eq!(
            refusal("{ a { fields { fields { fields { x } } } } }"),
            None
        );
    }

    #[test]
    fn aliases_count_once_per_spread() {
        // Two aliases per level, each spreading the next level's fragment: 2 + 4 + … + 2^k
        // aliased fields run, from 2k written.
        let doubling = |k: usize| {
            let mut q = String::from("{ ...F0 } ");
            for i in 0..k {
                q.push_str(&format!(
                    "fragment F{i} on Query {{ a{i}: x {{ ...F{n} }} b{i}: x {{ ...F{n} }} }} ",
                    n = i + 1
                ));
            }
            q.push_str(&format!("fragment F{k} on Query {{ y }}"));
            q
        };
        // 2 + 4 + 8 + 16 + 32 = 62 fit; 126 do not, from 12 written.
        assert_eq!(refusal(&doubling(5)), None);
        assert!(matches!(
            refusal(&doubling(6)),
            Some(Refusal::TooManyAliases { aliases: 126, .. })
        ));
    }

    #[test]
    fn aliases_hidden_in_fragments_count() {
        let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
        let q = format!("{{ ...F }} fragment F on Query {{ {aliases} }}");
        assert!(matches!(
            refusal(&q),
            Some(Refusal::TooManyAliases { aliases: 101, .. })
        ));
    }
}

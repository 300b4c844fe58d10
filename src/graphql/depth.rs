//! How deep a document reaches, with introspection measured apart from the data.
//!
//! `--max-depth` protects the data: each level of `orders { lines { claims { … } } }` is a
//! batch of reads. Introspection reads no data, and the standard introspection query (graphql-js
//! `getIntrospectionQuery()`, which GraphiQL, code generators and IDE plugins send) reaches 13 to
//! 15 fields deep through its `ofType` chains, so under the data's limit it was refused and
//! GraphiQL's Docs pane stayed empty. So the selections under `__schema` and `__type` are held
//! to introspection's own bound instead, which follows what introspection costs: the lists of
//! type definitions it walks, not the depth of `ofType` chains (each of which ends in null past
//! the schema's few wrappers).
//!
//! - At most [`INTROSPECTION_MAX_DEPTH`] fields deep.
//! - On any one path, at most one list of a type's members (`fields`, `inputFields`,
//!   `interfaces`, `possibleTypes`, `enumValues`), one `args` and one list of the schema's
//!   (`types`, `directives`): the standard queries read every type's fields' arguments once,
//!   while `types { fields { type { fields { type { fields … } } } } }` multiplies the schema by
//!   itself at every level.
//! - At most [`INTROSPECTION_MAX_LISTS`] such lists in the whole document, fragment spreads
//!   and aliases counted each time (the standard query selects 9), so that aliases cannot ask
//!   for the whole schema a hundred times.
//! - At most [`INTROSPECTION_MAX_SELECTIONS`] selections in all, counted the same way, so that
//!   aliased `type`/`ofType` copies cannot multiply what runs for every field of the schema.
//!
//! A document may mix both: its data fields keep `--max-depth`, its introspection these bounds.
//! The guard runs this after its own walk has refused fragment cycles and nesting past the
//! recursion limit, so the recursion here is bounded.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Deepest nesting of fields under `__schema` or `__type`.
pub const INTROSPECTION_MAX_DEPTH: usize = 20;

/// Most introspection lists a document may select, spreads and aliases counted each time.
pub const INTROSPECTION_MAX_LISTS: u64 = 24;

/// Most field selections under `__schema` and `__type`, spreads and aliases counted each time
/// (the standard query has 229, most of them `ofType` levels that answer null). Every one
/// below `types { fields { … } }` runs once per field of the schema, so aliased copies hidden
/// in fragments that spread each other would otherwise multiply a 1 KB document into tens of
/// megabytes of answer.
pub const INTROSPECTION_MAX_SELECTIONS: u64 = 300;

/// The introspection fields that list definitions, and so multiply what is below them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// `__Schema.types`, `__Schema.directives`.
    Schema,
    /// A type's members: `__Type.fields`, `inputFields`, `interfaces`, `possibleTypes`,
    /// `enumValues`.
    Members,
    /// `__Field.args`, `__Directive.args`.
    Args,
}

impl Listing {
    /// By name: under `__schema` and `__type` every field is an introspection type's, so its
    /// name says what it is. (Outside them the data's fields may share these names; their
    /// shape counts only for depth.)
    fn of(name: &str) -> Option<Listing> {
        match name {
            "types" | "directives" => Some(Listing::Schema),
            "fields" | "inputFields" | "interfaces" | "possibleTypes" | "enumValues" => {
                Some(Listing::Members)
            }
            "args" => Some(Listing::Args),
            _ => None,
        }
    }
}

/// What a selection set reaches: its depth in fields, the most lists of each kind on any one
/// path, and the lists in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Fields on the longest path (a leaf field is 1, as async-graphql counts depth).
    pub depth: usize,
    schema_lists: usize,
    member_lists: usize,
    args_lists: usize,
    lists: u64,
    /// Field selections, fragment spreads expanded and aliases counted each time.
    nodes: u64,
}

impl Shape {
    /// Two sets side by side (the selections of one set, or the parts of a root).
    fn beside(self, other: Shape) -> Shape {
        Shape {
            depth: self.depth.max(other.depth),
            schema_lists: self.schema_lists.max(other.schema_lists),
            member_lists: self.member_lists.max(other.member_lists),
            args_lists: self.args_lists.max(other.args_lists),
            lists: self.lists.saturating_add(other.lists),
            nodes: self.nodes.saturating_add(other.nodes),
        }
    }

    /// A field named `name` with `below` its selections.
    fn field(name: &str, below: Shape) -> Shape {
        let listing = Listing::of(name);
        let one = |kind| usize::from(listing == Some(kind));
        Shape {
            depth: below.depth + 1,
            schema_lists: below.schema_lists + one(Listing::Schema),
            member_lists: below.member_lists + one(Listing::Members),
            args_lists: below.args_lists + one(Listing::Args),
            lists: below.lists.saturating_add(u64::from(listing.is_some())),
            nodes: below.nodes.saturating_add(1),
        }
    }
}

/// A document's reach, its data and its introspection apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// Everything outside `__schema` and `__type`.
    pub data: Shape,
    /// Everything under `__schema` and `__type` (the root fields counted in the depth).
    pub introspection: Shape,
}

impl Reach {
    fn beside(self, other: Reach) -> Reach {
        Reach {
            data: self.data.beside(other.data),
            introspection: self.introspection.beside(other.introspection),
        }
    }
}

/// Why the introspection in a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionRefusal {
    /// Deeper than [`INTROSPECTION_MAX_DEPTH`].
    TooDeep(usize),
    /// A member list below a member list (or `args` below `args`) on one path.
    Nested(&'static str),
    /// More than [`INTROSPECTION_MAX_LISTS`] lists in all.
    TooManyLists(u64),
    /// More than [`INTROSPECTION_MAX_SELECTIONS`] selections once fragments are expanded.
    TooManySelections(u64),
}

impl Reach {
    /// Introspection's own bound (the module's doc says why these).
    pub fn introspection_refusal(&self) -> Option<IntrospectionRefusal> {
        let i = &self.introspection;
        if i.depth > INTROSPECTION_MAX_DEPTH {
            return Some(IntrospectionRefusal::TooDeep(i.depth));
        }
        if i.member_lists > 1 {
            return Some(IntrospectionRefusal::Nested(
                "`fields`, `inputFields`, `interfaces`, `possibleTypes` or `enumValues`",
            ));
        }
        if i.args_lists > 1 {
            return Some(IntrospectionRefusal::Nested("`args`"));
        }
        if i.schema_lists > 1 {
            return Some(IntrospectionRefusal::Nested("`types` or `directives`"));
        }
        if i.lists > INTROSPECTION_MAX_LISTS {
            return Some(IntrospectionRefusal::TooManyLists(i.lists));
        }
        if i.nodes > INTROSPECTION_MAX_SELECTIONS {
            return Some(IntrospectionRefusal::TooManySelections(i.nodes));
        }
        None
    }
}

/// Measures every operation of `doc` (an unused operation is held to the same bounds, as
/// validation checks every operation too). Each fragment is measured once and remembered.
pub fn reach(doc: &ExecutableDocument) -> Reach {
    let mut measure = Measure {
        doc,
        inner: HashMap::new(),
        root: HashMap::new(),
    };
    doc.operations
        .iter()
        .map(|(_, op)| measure.root_set(&op.node.selection_set.node))
        .fold(Reach::default(), Reach::beside)
}

struct Measure<'a> {
    doc: &'a ExecutableDocument,
    /// Fragments' shapes below the root.
    inner: HashMap<&'a str, Shape>,
    /// Fragments' reach when spread at the root (where `__schema` may appear).
    root: HashMap<&'a str, Reach>,
}

impl<'a> Measure<'a> {
    /// A root selection set: `__schema` and `__type` count as introspection, the rest as data.
    fn root_set(&mut self, set: &'a SelectionSet) -> Reach {
        let mut reach = Reach::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let shape = Shape::field(name, self.set(&f.node.selection_set.node));
                    if matches!(name, "__schema" | "__type") {
                        Reach {
                            introspection: shape,
                            ..Reach::default()
                        }
                    } else {
                        Reach {
                            data: shape,
                            ..Reach::default()
                        }
                    }
                }
                Selection::InlineFragment(f) => self.root_set(&f.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(known) = self.root.get(name) {
                        *known
                    } else if let Some((key, def)) = self.doc.fragments.get_key_value(name) {
                        let r = self.root_set(&def.node.selection_set.node);
                        self.root.insert(key.as_str(), r);
                        r
                    } else {
                        // Unknown: validation names it.
                        Reach::default()
                    }
                }
            };
            reach = reach.beside(part);
        }
        reach
    }

    /// A selection set below the root.
    fn set(&mut self, set: &'a SelectionSet) -> Shape {
        let mut shape = Shape::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(f) => Shape::field(
                    f.node.name.node.as_str(),
                    self.set(&f.node.selection_set.node),
                ),
                Selection::InlineFragment(f) => self.set(&f.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(known) = self.inner.get(name) {
                        *known
                    } else if let Some((key, def)) = self.doc.fragments.get_key_value(name) {
                        let shape = self.set(&def.node.selection_set.node);
                        self.inner.insert(key.as_str(), shape);
                        shape
                    } else {
                        Shape::default()
                    }
                }
            };
            shape = shape.beside(part);
        }
        shape
    }
}

//! A limit async-graphql does not have: aliases per document. Each alias runs its field again,
//! so a flood of them multiplies the work of one cheap field. HTTP refuses such a document
//! before it reaches the schema (a 400); the WebSocket schema refuses it with [`AliasLimit`].

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, ServerResult, Variables};

/// The code of the refusal.
pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";

/// How many aliased fields a document writes, in its operations and fragment definitions
/// (a fragment counts once however often it is spread: spreads at one level merge).
pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + in_set(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => in_set(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| in_set(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// The refusal's message, or `None` when `doc` is within `max` aliases.
pub fn alias_refusal(doc: &ExecutableDocument, max: usize) -> Option<String> {
    let aliases = count_aliases(doc);
    (aliases > max).then(|| {
        format!("the document uses {aliases} aliases, more than the limit of {max} (--max-aliases)")
    })
}

/// Refuses documents with more than this many aliases, as a GraphQL error coded
/// `TOO_MANY_ALIASES`.
pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension(self.0))
    }
}

struct AliasLimitExtension(usize);

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        match alias_refusal(&doc, self.0) {
            None => Ok(doc),
            Some(message) => Err(async_graphql::Error::new(message)
                .extend_with(|_, e| e.set("code", TOO_MANY_ALIASES))
                .into_server_error(Default::default())),
        }
    }
}

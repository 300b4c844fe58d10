//! Every error code a client can receive, in one catalogue, rendered as
//! `docs/error-codes.md` (`oms codes`).
//!
//! Three enums hold the codes, and every place that sends one takes it from them:
//!
//! - [`UserErrorCode`] (`src/error.rs`): a mutation's `userErrors[].code`, the refusals of
//!   business rules and documented limits.
//! - [`ErrorCode`] (here): `errors[].extensions.code` of GraphQL responses, and the bodies of
//!   the HTTP answers given before or outside GraphQL (`/graphql`, `/export/*`,
//!   `/webhooks/courier`).
//! - [`FailureReason`] (`src/plugin/`): why a seller's policy plugin failed an evaluation.
//!
//! What each code means comes from one place too: the doc comments of [`ErrorCode`]'s
//! variants (read by [`ErrorCode::when`]) and the GraphQL descriptions of `UserErrorCode` and
//! `PluginFailureReason` (the doc comments of their variants, read back from the schema), so
//! the catalogue says what GraphiQL says. A test compares the checked-in
//! `docs/error-codes.md` with [`render_markdown`], and another scans the source for a code
//! written as a string literal that the catalogue does not know (`tests/api/codes.rs`).

use std::collections::HashMap;

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use async_graphql::resolver_utils::EnumType;
use async_graphql::ErrorExtensions;

use crate::error::UserErrorCode;
use crate::plugin::FailureReason;

/// Defines [`ErrorCode`]: each variant's doc comment is the sentence the catalogue prints
/// for it, so the two cannot drift apart.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident => $name:literal, $place:literal;)+) => {
        /// A code of `errors[].extensions.code` (GraphQL over HTTP and WebSocket) or of an HTTP
        /// answer given outside GraphQL. Clients switch on these; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the catalogue's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The SCREAMING_CASE name clients see.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)+ }
            }

            /// Where a client meets it.
            pub const fn place(self) -> &'static str {
                match self { $(ErrorCode::$variant => $place,)+ }
            }

            /// When it occurs and what to do (its doc comment, on one line).
            pub fn when(self) -> String {
                let lines: &[&str] = match self { $(ErrorCode::$variant => &[$($doc),+],)+ };
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
            }
        }
    };
}

error_codes! {
    /// No valid bearer token where the operation needs a caller, or a token that does not
    /// verify (expired, another secret): send `Authorization: Bearer <token>` with a valid
    /// token (`oms token` issues one in development). The courier webhook: its secret in
    /// `X-Courier-Token`. The payment gateway's deposit callback: a `secret` that is not the
    /// payment's (forged, or meant for another shop), or an `orderId` with no virtual account.
    Unauthenticated => "UNAUTHENTICATED",
        "`errors[].extensions.code`; HTTP 401 from `/graphql`, `/export/*` and \
         `/webhooks/courier` and `/webhooks/payments` (`error.code`); the reason of the WebSocket's close (code 1002) after a \
         `connection_init` whose token does not verify";
    /// The caller's role may never do this, whatever the object (an analyst writing, a
    /// customer reading analytics, the SYSTEM subscribing): use a token of a role that may.
    Forbidden => "FORBIDDEN",
        "`errors[].extensions.code`; HTTP 403 from `/export/*`";
    /// The order, claim or seller a query, subscription or lookup names does not exist or is
    /// not visible to the caller (another tenant's is never "forbidden"): check the number or
    /// id, and the token.
    NotFound => "NOT_FOUND",
        "`errors[].extensions.code` of a query or subscription";
    /// An argument or variable that its type refuses, or that a documented rule refuses (a
    /// malformed global ID, a page size over the limit, a bad cursor or filter): the message
    /// names it and what to send instead.
    BadUserInput => "BAD_USER_INPUT",
        "`errors[].extensions.code`";
    /// A fault on the server's side, logged with its detail (never sent): nothing in the
    /// request can fix it. Retry later; a mutation with the same idempotency key runs once.
    Internal => "INTERNAL",
        "`errors[].extensions.code`; HTTP 500 from any endpoint (`errors[0].extensions.code`, \
         `error.code` from `/webhooks/courier`)";
    /// More `claimEvents` subscriptions than `--max-subscriptions-per-connection` on this
    /// WebSocket, or than `--max-subscriptions-per-actor` for this customer or seller on this
    /// server: complete one before opening another.
    TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
        "`errors[].extensions.code` of a `claimEvents` subscription";
    /// The document is not GraphQL: the message gives the line and column of the first
    /// syntax error.
    GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
        "`errors[].extensions.code`: a request error (HTTP 400 with \
         `application/graphql-response+json`, 200 with `application/json`)";
    /// The document does not fit the schema: an unknown field, argument, type or enum value,
    /// a value of the wrong type, a missing required argument, an unused or undefined variable
    /// or fragment, a fragment cycle. The message names it; nothing ran.
    GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
        "`errors[].extensions.code`: a request error (HTTP 400 with \
         `application/graphql-response+json`, 200 with `application/json`)";
    /// The document nests `{`, `[` or `(` deeper than `--max-nesting`, or fields and
    /// fragment spreads deeper than 64 levels: flatten it (variables instead of deep
    /// literals).
    DocumentTooNested => "DOCUMENT_TOO_NESTED",
        "`errors[].extensions.code`: a request error";
    /// The document has more selections, once its fragment spreads are expanded, than
    /// `--max-document-nodes`, or too many variable or fragment definitions: send a smaller
    /// document.
    DocumentTooLarge => "DOCUMENT_TOO_LARGE",
        "`errors[].extensions.code`: a request error";
    /// A name (field, alias, argument, variable, fragment, operation) longer than 255
    /// characters: shorten it.
    NameTooLong => "NAME_TOO_LONG",
        "`errors[].extensions.code`: a request error";
    /// More aliases than `--max-aliases`: split the request.
    TooManyAliases => "TOO_MANY_ALIASES",
        "`errors[].extensions.code`: a request error";
    /// The query nests fields deeper than `--max-depth`, or its introspection (`__schema`,
    /// `__type`) deeper than introspection's own 20 (the message says which and gives the
    /// limit): ask for fewer levels, or fetch the deeper objects by `node(id:)`.
    QueryTooDeep => "QUERY_TOO_DEEP",
        "`errors[].extensions.code`: a request error";
    /// The introspection multiplies the schema by itself (a type's members listed again below
    /// a type's members, or `args` below `args`) or selects more than 24 lists of definitions
    /// (aliases and fragment spreads counted each time): send the standard introspection query
    /// (graphql-js `getIntrospectionQuery()`), which lists each type's members once.
    IntrospectionTooComplex => "INTROSPECTION_TOO_COMPLEX",
        "`errors[].extensions.code`: a request error";
    /// The query's complexity (fields weighted by page sizes) is over `--max-complexity`
    /// (the message gives the limit): ask for smaller pages or fewer fields.
    QueryTooComplex => "QUERY_TOO_COMPLEX",
        "`errors[].extensions.code`: a request error";
    /// The answer had more than 100 errors: the last one shown counts those left out. Fix the
    /// ones shown and send the document again.
    TooManyErrors => "TOO_MANY_ERRORS",
        "`errors[].extensions.code`, the last of 100 errors";
    /// The request is not one the endpoint understands: a body that is not JSON or not a
    /// GraphQL request (no `query`, a batch), a CSV export parameter it does not know, a
    /// courier event or a deposit callback of another shape. The message says what to send.
    BadRequest => "BAD_REQUEST",
        "HTTP 400 from `/graphql` and `/export/*` (`errors[0].extensions.code`) and from \
         `/webhooks/courier` and `/webhooks/payments` (`error.code`)";
    /// A POST to `/graphql` without `Content-Type: application/json`.
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        "HTTP 415 from `/graphql` (`errors[0].extensions.code`)";
    /// The request body is larger than `--max-body-bytes` (the message gives the limit):
    /// send a smaller document, with large values in variables of several requests.
    PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        "HTTP 413 from `/graphql` (`errors[0].extensions.code`)";
    /// `Accept` names neither `application/graphql-response+json` nor `application/json`
    /// (with a UTF-8 charset, if any).
    NotAcceptable => "NOT_ACCEPTABLE",
        "HTTP 406 from `/graphql` (`errors[0].extensions.code`)";
    /// A mutation or subscription sent by GET: POST mutations, subscribe over the WebSocket.
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
        "HTTP 405 from `/graphql` (`errors[0].extensions.code`), with `Allow: POST`";
    /// The payment gateway's deposit callback names a payment the gateway, asked again, does
    /// not report as deposited: nothing was recorded (logged). The gateway sends a genuine
    /// callback again.
    DepositNotConfirmed => "DEPOSIT_NOT_CONFIRMED",
        "HTTP 409 from `/webhooks/payments` (`error.code`)";
    /// The payment gateway could not be asked to confirm a deposit callback: nothing was
    /// recorded; the gateway sends the callback again later.
    GatewayUnavailable => "GATEWAY_UNAVAILABLE",
        "HTTP 503 from `/webhooks/payments` (`error.code`)";
    /// The request ran longer than `--request-timeout-ms` (504), its body did not arrive in
    /// that time (408), or the server was busy with other large documents that long (503).
    /// Nothing is left half done: retry, a mutation with the same idempotency key.
    Timeout => "TIMEOUT",
        "HTTP 408, 503 or 504 from `/graphql` (`errors[0].extensions.code`)";
}

impl ErrorCode {
    /// The code of a name, if the catalogue has it.
    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// A GraphQL error with this code in `extensions.code`.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", self.as_str()))
    }
}

/// Which of the catalogue's tables a code is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `userErrors[].code` of a mutation.
    UserErrors,
    /// `errors[].extensions.code`, and HTTP answers outside GraphQL.
    Errors,
    /// A plugin evaluation's failure reason.
    PluginFailures,
}

impl Section {
    /// Every section, in the document's order.
    pub const ALL: [Section; 3] = [
        Section::UserErrors,
        Section::Errors,
        Section::PluginFailures,
    ];

    fn heading(self) -> &'static str {
        match self {
            Section::UserErrors => "Refusals of a mutation: `userErrors[].code`",
            Section::Errors => "GraphQL and HTTP errors: `errors[].extensions.code`",
            Section::PluginFailures => "Plugin failures: `reason`",
        }
    }

    fn preamble(self) -> &'static str {
        match self {
            Section::UserErrors => {
                "A mutation answers every refusal of its request with a `userErrors` entry \
                 `{ code field message }` and changes nothing (`src/error.rs`). In a query or a \
                 subscription, which have no `userErrors`, the same refusal is a GraphQL error: \
                 `NOT_FOUND` for `NOT_FOUND`, `BAD_USER_INPUT` for the others. The courier \
                 webhook answers a refused event with the code in `error.code` (HTTP 409; 400 \
                 for `TEXT_TOO_LONG` and `INVALID_TEXT`)."
            }
            Section::Errors => {
                "A document the schema refuses, a missing or bad token, a role that may not, a \
                 limit, an internal fault. A request error (nothing ran) has no `data`; the \
                 HTTP status is 400 with `Accept: application/graphql-response+json` and 200 \
                 with `application/json`, unless the row names another."
            }
            Section::PluginFailures => {
                "Why a seller's policy plugin failed an evaluation; the built-in default \
                 decided instead, so a claim never fails for it. Seen in `pluginFailures[]\
                 .reason`, in `failure.reason` of `dryRunPlugin` and `checkPlugin` \
                 evaluations, and in `Claim.policyDecision` (`fallback.reason`)."
            }
        }
    }
}

/// One code of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The table it is in.
    pub section: Section,
    /// The SCREAMING_CASE name clients see.
    pub name: &'static str,
    /// Where a client meets it.
    pub place: &'static str,
    /// When it occurs, in a sentence a client developer can act on.
    pub when: String,
}

/// Every code a client can receive, section by section.
pub fn catalogue() -> Vec<Entry> {
    let described = enum_descriptions();
    let describe = |enum_name: &str, value: &str| {
        described
            .get(&(enum_name.to_owned(), value.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let users = UserErrorCode::items().iter().map(|item| Entry {
        section: Section::UserErrors,
        name: item.name,
        place: "`userErrors[].code` of a mutation",
        when: describe("UserErrorCode", item.name),
    });
    let errors = ErrorCode::ALL.iter().map(|c| Entry {
        section: Section::Errors,
        name: c.as_str(),
        place: c.place(),
        when: c.when(),
    });
    let plugins = FailureReason::ALL.iter().map(|r| Entry {
        section: Section::PluginFailures,
        name: r.as_str(),
        place: "`reason` of a plugin failure",
        when: describe("PluginFailureReason", r.as_str()),
    });
    users.chain(errors).chain(plugins).collect()
}

/// True when `name` is a code of the catalogue, in any section.
pub fn is_known(name: &str) -> bool {
    UserErrorCode::items().iter().any(|item| item.name == name)
        || ErrorCode::parse(name).is_some()
        || FailureReason::parse(name).is_some()
}

/// The descriptions of the schema's enum values, by (enum, value): the doc comments of
/// `UserErrorCode` and `PluginFailureReason` as GraphiQL shows them.
fn enum_descriptions() -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    let Ok(doc) = async_graphql::parser::parse_schema(crate::graphql::sdl()) else {
        return out;
    };
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let TypeKind::Enum(e) = &ty.node.kind else {
            continue;
        };
        for v in &e.values {
            let text = v.node.description.as_ref().map(|d| d.node.as_str());
            let one_line = text
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            out.insert(
                (ty.node.name.node.to_string(), v.node.value.node.to_string()),
                one_line,
            );
        }
    }
    out
}

/// The catalogue as Markdown: `docs/error-codes.md`.
pub fn render_markdown() -> String {
    let entries = catalogue();
    let mut md = String::from(
        "# Error codes\n\n\
         <!-- Generated from src/codes.rs (`oms codes > docs/error-codes.md`); do not edit. \
         tests/api/codes.rs fails when it is stale. -->\n\n\
         Every code a client of this server can receive, where it appears and when. Codes are \
         stable: a client may switch on them; the messages next to them are for people and may \
         change.\n",
    );
    for section in Section::ALL {
        md.push_str(&format!(
            "\n## {}\n\n{}\n\n",
            section.heading(),
            section.preamble()
        ));
        let rows: Vec<&Entry> = entries.iter().filter(|e| e.section == section).collect();
        if section == Section::Errors {
            md.push_str("| code | where | when |\n|---|---|---|\n");
            for e in rows {
                md.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    e.name,
                    cell(e.place),
                    cell(&e.when)
                ));
            }
        } else {
            md.push_str("| code | when |\n|---|---|\n");
            for e in rows {
                md.push_str(&format!("| `{}` | {} |\n", e.name, cell(&e.when)));
            }
        }
    }
    md
}

/// A table cell: a `|` would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_name_and_a_sentence() {
        let entries = catalogue();
        for e in &entries {
            assert!(!e.when.is_empty(), "{} has no description", e.name);
            assert!(
                e.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit()),
                "{} is not SCREAMING_CASE",
                e.name
            );
        }
        for section in Section::ALL {
            let mut names: Vec<&str> = entries
                .iter()
                .filter(|e| e.section == section)
                .map(|e| e.name)
                .collect();
            let before = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), before, "a name twice in {section:?}");
        }
    }

    #[test]
    fn the_sentence_is_the_doc_comment() {
        assert_eq!(
            ErrorCode::MethodNotAllowed.when(),
            "A mutation or subscription sent by GET: POST mutations, subscribe over the WebSocket."
        );
        assert_eq!(ErrorCode::parse("TIMEOUT"), Some(ErrorCode::Timeout));
        assert!(is_known("STALE_VERSION"));
        assert!(is_known("OUT_OF_FUEL"));
        assert!(!is_known("NO_SUCH_CODE"));
    }
}

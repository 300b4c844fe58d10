//! Text limits where a request enters the GraphQL API; `domain::text` holds the limits and
//! the checks.
//!
//! Each input type with text fields names them and their limits once ([`TextInput`]); a
//! mutation refuses an input that breaks one before it looks anything up, as the schema's own
//! types are checked before anything runs: a `userErrors` entry naming the field
//! (`["input", "memo"]`), nothing changed. A query's text argument that breaks its limit never
//! reaches the database either: a key of one object finds nothing (null), a filter or a cursor
//! is refused with `BAD_USER_INPUT` naming the argument and its limit.

use super::types::payloads::Payload;
use crate::domain::text::{Limit, TextError};
use crate::error::{to_graphql_error, ServiceError, UserError};

/// The text fields of an input, checked in order until one is refused.
#[must_use]
pub struct Texts(Result<(), UserError>);

impl Default for Texts {
    fn default() -> Texts {
        Texts(Ok(()))
    }
}

impl Texts {
    /// A field that is always given.
    pub fn field(self, name: &str, value: &str, limit: Limit) -> Texts {
        self.at(&[name], Some(value), limit)
    }

    /// A field that may be left out.
    pub fn optional(self, name: &str, value: Option<&str>, limit: Limit) -> Texts {
        self.at(&[name], value, limit)
    }

    /// A field of each entry of a list of input objects (`lines[i].bundleId`).
    pub fn each<'a, T: 'a>(
        mut self,
        list: &str,
        entries: impl IntoIterator<Item = &'a T>,
        name: &str,
        value: impl Fn(&'a T) -> Option<&'a str>,
        limit: Limit,
    ) -> Texts {
        for (i, entry) in entries.into_iter().enumerate() {
            self = self.at(&[list, &i.to_string(), name], value(entry), limit);
        }
        self
    }

    /// A list of texts: at most `max_entries` entries, each within `limit`.
    pub fn list(self, name: &str, values: &[String], max_entries: usize, limit: Limit) -> Texts {
        if self.0.is_err() {
            return self;
        }
        match limit.check_list(values, max_entries) {
            Ok(()) => self,
            Err((None, e)) => Texts(Err(UserError::text(&[name], e))),
            Err((Some(i), e)) => Texts(Err(UserError::text(&[name, &i.to_string()], e))),
        }
    }

    /// A field of a nested input object (`option.name`).
    pub fn nested(self, path: &[&str], value: &str, limit: Limit) -> Texts {
        self.at(path, Some(value), limit)
    }

    /// A list of any kind (ids, input objects) with at most `max_entries` entries.
    pub fn count(self, name: &str, entries: usize, max_entries: usize) -> Texts {
        if self.0.is_err() || entries <= max_entries {
            return self;
        }
        Texts(Err(UserError::text(
            &[name],
            TextError::TooManyEntries {
                entries,
                max: max_entries,
            },
        )))
    }

    fn at(self, path: &[&str], value: Option<&str>, limit: Limit) -> Texts {
        match (&self.0, value.map(|v| limit.check(v))) {
            (Ok(()), Some(Err(e))) => Texts(Err(UserError::text(path, e))),
            _ => self,
        }
    }
}

/// An input object with text fields.
pub trait TextInput {
    /// Its text fields, each with its limit (`domain::text`).
    fn texts(&self) -> Texts;
}

/// The payload refusing `input`, when one of its texts breaks its limit.
pub fn refusal<P: Payload>(input: &impl TextInput) -> Option<P> {
    input.texts().0.err().map(P::refused)
}

/// A query's text argument (a filter, a cursor) within its limit, or `BAD_USER_INPUT` naming
/// the argument (`filter.orderNumber`) and the limit.
pub fn argument(name: &str, value: &str, limit: Limit) -> async_graphql::Result<()> {
    limit
        .check(value)
        .map_err(|e| to_graphql_error(ServiceError::BadInput(e.message(name))))
}

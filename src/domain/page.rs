//! Reading lists a page at a time: where a page starts ([`Cursor`]). Whose rows a caller may
//! read is `actor::Scope`; the service layer encodes cursors and checks page sizes
//! (`service::reads`); the repo turns a scope into a `WHERE`.

use serde::{Deserialize, Serialize};

/// A position in a list sorted by a key and then by id: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key's value as text (an RFC 3339 time, an order number); absent in a list the
    /// id alone orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The row's id, breaking ties of the key.
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_without_a_key_leaves_it_out() {
        let json = |c: &Cursor| serde_json::to_string(c).unwrap_or_default();
        assert_eq!(json(&Cursor { key: None, id: 3 }), r#"{"id":3}"#);
        let keyed = Cursor {
            key: Some("20261124-000001".into()),
            id: 3,
        };
        assert_eq!(json(&keyed), r#"{"key":"20261124-000001","id":3}"#);
    }
}

//! Text a client sends: one table of limits, and the characters no text may hold.
//!
//! Every text input of the API (GraphQL inputs and arguments, the courier's tracking events,
//! the CSV exports' parameters) is checked against one [`Limit`] of this table before anything
//! is looked up or stored. Lengths count characters — Unicode scalar values, so a Korean
//! syllable is one character, as an ASCII letter is — never bytes. (A frontend that counts
//! UTF-16 units, as JavaScript's `length` does, counts at least as many, so it never lets
//! through more than the server accepts.)
//!
//! Characters refused:
//! - NUL (U+0000) everywhere: PostgreSQL's text types cannot hold it (SQLite could, but the
//!   answer must not depend on the database).
//! - Every other control character (Unicode category Cc: U+0001–U+001F, U+007F–U+009F) in a
//!   [`Shape::Line`] field — identifiers, names, numbers and URLs, printed on one line in
//!   logs, CSV files and shipping labels, and matched exactly: a line break there forges a log
//!   line or makes a tracking number that no courier event will ever match, and no real value
//!   has one.
//! - In [`Shape::Lines`] fields (what a person writes: memos, descriptions) line breaks and
//!   tabs are text; every other control character (escape sequences for a terminal, a bell)
//!   is refused.
//!
//! Formatting characters (category Cf: zero-width joiners in emoji, bidi marks) are text
//! and accepted: refusing them would refuse ordinary Korean and emoji text.
//!
//! Limits are chosen from what a field means, and so that customer text cannot push a claim's
//! plugin input past the plugin input cap (128 KiB, `plugin::limits`; an input over it fails
//! the plugin, and failures switch it off): what a customer writes into a `claim_fees` input
//! is its words (1,000 characters, at most 4 bytes each in the contract's UTF-8: 4,000 bytes)
//! and one set id per claimed line (64 characters: 256 bytes, about 300 with the line's
//! numbers). A claim of 100 lines with every text at its widest is 34,488 bytes (the test
//! `customer_text_stays_far_below_the_plugin_input_cap`); only a claim of more than about 400
//! lines, each with a 64-character set id of 4-byte characters, would reach the cap — the
//! number of lines of an order is not a text limit.

use std::fmt;

/// What a text field may span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One line: identifiers, names, numbers, URLs. No control character at all.
    Line,
    /// What a person writes (memos, descriptions): line breaks (`\n`, `\r`) and tabs allowed.
    Lines,
}

/// The limit of one text field: at most `max` characters of a [`Shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The most characters (Unicode scalar values) the field may have.
    pub max: usize,
    /// One line, or several.
    pub shape: Shape,
}

impl Limit {
    /// At most `max` characters on one line.
    pub const fn line(max: usize) -> Limit {
        Limit {
            max,
            shape: Shape::Line,
        }
    }

    /// At most `max` characters, line breaks and tabs allowed.
    pub const fn lines(max: usize) -> Limit {
        Limit {
            max,
            shape: Shape::Lines,
        }
    }

    /// Checks a value: its length in characters, then its characters.
    pub fn check(self, value: &str) -> Result<(), TextError> {
        let chars = value.chars().count();
        if chars > self.max {
            return Err(TextError::TooLong {
                chars,
                max: self.max,
            });
        }
        let refused = value.chars().enumerate().find(|(_, c)| match self.shape {
            Shape::Line => c.is_control(),
            Shape::Lines => c.is_control() && !matches!(c, '\n' | '\r' | '\t'),
        });
        match refused {
            None => Ok(()),
            Some((i, '\0')) => Err(TextError::Nul { at: i + 1 }),
            Some((i, c)) => Err(TextError::Control {
                at: i + 1,
                character: c,
                shape: self.shape,
            }),
        }
    }

    /// Checks a list: how many entries, then each entry (`Err` carries the entry's index when
    /// one entry is refused).
    pub fn check_list(
        self,
        values: &[String],
        max_entries: usize,
    ) -> Result<(), (Option<usize>, TextError)> {
        if values.len() > max_entries {
            return Err((
                None,
                TextError::TooManyEntries {
                    entries: values.len(),
                    max: max_entries,
                },
            ));
        }
        values
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| self.check(v).map_err(|e| (Some(i), e)))
    }
}

// ---------------------------------------------------------------------------------------------
// The limits. Each GraphQL field's documentation states its limit; `docs/text-limits.md` is the
// table for people.

/// 주문번호 (`20261124-000123` is 15 characters).
pub const ORDER_NUMBER: Limit = Limit::line(40);
/// 클레임 번호: an order number, `-C` and a count.
pub const CLAIM_NUMBER: Limit = Limit::line(50);
/// The customer's words, and the notes of a claim's timeline, a hold, a rejection and a manual
/// refund.
pub const MEMO: Limit = Limit::lines(1_000);
/// The courier (택배사), e.g. `CJ대한통운`.
pub const COURIER: Limit = Limit::line(50);
/// 운송장 번호 (10 to 14 digits in Korea, up to about 30 characters abroad).
pub const TRACKING_NUMBER: Limit = Limit::line(50);
/// An outside payment's reference (a bank transfer's or a gateway's transaction id).
pub const PAYMENT_REFERENCE: Limit = Limit::line(100);
/// A bank's name (은행명).
pub const BANK: Limit = Limit::line(50);
/// A bank account number (계좌번호: digits and dashes).
pub const ACCOUNT_NUMBER: Limit = Limit::line(50);
/// An account holder's name (예금주).
pub const ACCOUNT_HOLDER: Limit = Limit::line(100);
/// A coupon code (쿠폰), or the label of ad-hoc coupon terms.
pub const COUPON_CODE: Limit = Limit::line(50);
/// The set (세트) a cart line is sold in.
pub const BUNDLE_ID: Limit = Limit::line(64);
/// A webhook endpoint's URL (a URL longer than this is not one a partner would register).
pub const WEBHOOK_URL: Limit = Limit::line(2_000);
/// A webhook endpoint's description, a note for the partner.
pub const WEBHOOK_DESCRIPTION: Limit = Limit::lines(500);
/// One event type of a webhook (`claim.exchange_reject_pending` is the longest, 29).
pub const EVENT_TYPE: Limit = Limit::line(64);
/// Event types one webhook names: there are 33, and `*`, `order.*`, `claim.*`.
pub const EVENT_TYPES: usize = 64;

/// Most entries in a list of order lines or claim items (`lineIds`, `lines`, `items`,
/// `replacements`): far beyond any real cart, and each entry is looked up.
pub const LINES: usize = 500;
/// A page cursor (`after`, `before`): opaque, at most a few dozen characters when this server
/// made it.
pub const CURSOR: Limit = Limit::line(200);
/// The courier's id of a tracking event.
pub const COURIER_EVENT_ID: Limit = Limit::line(100);
/// The courier's name of a tracking event's kind (`PICKED_UP`, `DELIVERED`).
pub const COURIER_EVENT: Limit = Limit::line(32);
/// A person's subject at the marketplace's identity provider (`linkExternalIdentity`;
/// subjects are UUIDs or `auth0|...` ids, far shorter).
pub const EXTERNAL_ID: Limit = Limit::line(255);
/// The payment gateway's key of a payment (`confirmPayment`, `payClaimFee`; Toss Payments'
/// keys are at most 200 characters).
pub const PAYMENT_KEY: Limit = Limit::line(200);
/// A seller's name as customers see it (`onboardSeller`).
pub const SELLER_NAME: Limit = Limit::line(100);
/// 사업자등록번호 as typed (`123-45-67890`, spaces allowed).
pub const BUSINESS_NUMBER: Limit = Limit::line(20);
/// An e-mail address (RFC 5321's longest path).
pub const EMAIL: Limit = Limit::line(254);
/// A phone number as typed.
pub const PHONE: Limit = Limit::line(20);
/// A postal address (반품지), on one line.
pub const ADDRESS: Limit = Limit::line(300);
/// A product's name (상품명).
pub const PRODUCT_NAME: Limit = Limit::line(200);
/// An option's name (옵션명, e.g. `M / 블랙`).
pub const OPTION_NAME: Limit = Limit::line(100);
/// An image URL of a product.
pub const IMAGE_URL: Limit = Limit::line(2_000);
/// The most image URLs a product holds (the catalogue's own rule is the same).
pub const IMAGE_URLS: usize = super::catalogue::MAX_IMAGES;
/// A query parameter of a CSV export (the longest real one, an `orderBy` naming every field
/// with its direction, is under 500 characters).
pub const EXPORT_PARAMETER: Limit = Limit::line(1_000);

/// Why a text input is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// More characters than the limit.
    TooLong {
        /// Characters given.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A NUL character, which the database cannot store, at this position (from 1).
    Nul {
        /// Its position, in characters from 1.
        at: usize,
    },
    /// A control character the field's shape does not allow, at this position (from 1).
    Control {
        /// Its position, in characters from 1.
        at: usize,
        /// The character.
        character: char,
        /// The field's shape.
        shape: Shape,
    },
    /// A list with more entries than its limit.
    TooManyEntries {
        /// Entries given.
        entries: usize,
        /// The limit.
        max: usize,
    },
}

impl TextError {
    /// What went wrong with the field called `field`, as a person can act on it.
    pub fn message(self, field: &str) -> String {
        match self {
            TextError::TooLong { chars, max } => format!(
                "{field} is {} characters; the limit is {}",
                Grouped(chars),
                Grouped(max)
            ),
            TextError::Nul { at } => format!(
                "{field} has a NUL character (U+0000) at character {}, which cannot be stored; \
                 remove it",
                Grouped(at)
            ),
            TextError::Control {
                at,
                character,
                shape: Shape::Line,
            } => format!(
                "{field} has the control character U+{:04X} at character {}; it must be one \
                 line without control characters",
                u32::from(character),
                Grouped(at)
            ),
            TextError::Control { at, character, .. } => format!(
                "{field} has the control character U+{:04X} at character {}; only line breaks \
                 and tabs are allowed",
                u32::from(character),
                Grouped(at)
            ),
            TextError::TooManyEntries { entries, max } => format!(
                "{field} has {} entries; the limit is {}",
                Grouped(entries),
                Grouped(max)
            ),
        }
    }
}

/// A count with thousands separators (`1,412`), as the messages and the documentation write
/// limits.
#[derive(Debug, Clone, Copy)]
pub struct Grouped(pub usize);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        let korean = "가".repeat(1_000);
        assert_eq!(korean.len(), 3_000);
        assert_eq!(MEMO.check(&korean), Ok(()));
        let over = "가".repeat(1_001);
        assert_eq!(
            MEMO.check(&over),
            Err(TextError::TooLong {
                chars: 1_001,
                max: 1_000
            })
        );
        // An emoji outside the BMP is one character (two UTF-16 units, four bytes).
        assert_eq!(Limit::line(2).check("😀😀"), Ok(()));
        assert!(Limit::line(2).check("😀😀😀").is_err());
        assert_eq!(Limit::line(0).check(""), Ok(()));
    }

    #[test]
    fn nul_is_refused_in_every_shape_with_its_position() {
        for limit in [Limit::line(10), Limit::lines(10)] {
            assert_eq!(limit.check("ab\0"), Err(TextError::Nul { at: 3 }));
            assert_eq!(limit.check("\0"), Err(TextError::Nul { at: 1 }));
        }
        // The position counts characters.
        assert_eq!(
            Limit::line(10).check("가나\0"),
            Err(TextError::Nul { at: 3 })
        );
    }

    #[test]
    fn one_line_refuses_every_control_character_and_lines_allow_breaks_and_tabs() {
        for c in [
            '\n', '\r', '\t', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}',
        ] {
            let value = format!("a{c}b");
            assert_eq!(
                TRACKING_NUMBER.check(&value),
                Err(TextError::Control {
                    at: 2,
                    character: c,
                    shape: Shape::Line
                }),
                "{:?}",
                c
            );
        }
        assert_eq!(MEMO.check("첫 줄\r\n둘째 줄\t끝"), Ok(()));
        for c in ['\u{1}', '\u{7}', '\u{8}', '\u{1b}', '\u{7f}', '\u{9b}'] {
            assert!(MEMO.check(&format!("a{c}")).is_err(), "{c:?}");
        }
        // Formatting characters are text: the zero-width joiner of a family emoji, bidi marks,
        // a byte-order mark, the line separator.
        for ok in [
            "👨\u{200d}👩\u{200d}👧",
            "\u{200f}שלום",
            "\u{feff}x",
            "a\u{2028}b",
        ] {
            assert_eq!(Limit::line(20).check(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn too_long_is_reported_before_a_bad_character() {
        assert_eq!(
            Limit::line(2).check("\0\0\0"),
            Err(TextError::TooLong { chars: 3, max: 2 })
        );
    }

    #[test]
    fn lists_count_entries_then_check_each() {
        let types: Vec<String> = vec!["claim.*".into(); 64];
        assert_eq!(EVENT_TYPE.check_list(&types, EVENT_TYPES), Ok(()));
        let many: Vec<String> = vec!["claim.*".into(); 20_000];
        assert_eq!(
            EVENT_TYPE.check_list(&many, EVENT_TYPES),
            Err((
                None,
                TextError::TooManyEntries {
                    entries: 20_000,
                    max: 64
                }
            ))
        );
        let bad = vec!["claim.*".to_owned(), "x".repeat(65)];
        assert_eq!(
            EVENT_TYPE.check_list(&bad, EVENT_TYPES),
            Err((Some(1), TextError::TooLong { chars: 65, max: 64 }))
        );
    }

    #[test]
    fn messages_name_the_field_and_write_numbers_as_people_do() {
        assert_eq!(
            TextError::TooLong {
                chars: 1_412,
                max: 1_000
            }
            .message("memo"),
            "memo is 1,412 characters; the limit is 1,000"
        );
        assert_eq!(
            TextError::Nul { at: 7 }.message("trackingNumber"),
            "trackingNumber has a NUL character (U+0000) at character 7, which cannot be \
             stored; remove it"
        );
        assert_eq!(
            TextError::Control {
                at: 2,
                character: '\n',
                shape: Shape::Line
            }
            .message("courier"),
            "courier has the control character U+000A at character 2; it must be one line \
             without control characters"
        );
        assert_eq!(
            TextError::Control {
                at: 1,
                character: '\u{1b}',
                shape: Shape::Lines
            }
            .message("memo"),
            "memo has the control character U+001B at character 1; only line breaks and tabs \
             are allowed"
        );
        assert_eq!(
            TextError::TooManyEntries {
                entries: 20_000,
                max: 64
            }
            .message("eventTypes"),
            "eventTypes has 20,000 entries; the limit is 64"
        );
        for (n, s) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (12_345, "12,345"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(Grouped(n).to_string(), s);
        }
    }

    /// The customer's text in a `claim_fees` input — the memo and one set id per claimed line,
    /// every character 4 bytes wide — against the plugin input cap, for a claim of 100 lines.
    #[test]
    fn customer_text_stays_far_below_the_plugin_input_cap() {
        use crate::domain::policy::{ClaimFeesInput, Item};
        use oms_policy_sdk::Document;
        let widest = |n: usize| "😀".repeat(n);
        let item = |i: i64| Item {
            line_id: i,
            product_id: i,
            option_id: i,
            unit_price: 1_000_000_000,
            quantity: u32::MAX,
            bulky: true,
            bundle_id: Some(widest(BUNDLE_ID.max)),
        };
        let input = ClaimFeesInput {
            claim_type: oms_policy_sdk::ClaimType::Exchange,
            reason: oms_policy_sdk::Reason::ChangeOfMind,
            collection_method: oms_policy_sdk::CollectionMethod::CustomerShips,
            base_fee: i64::MAX,
            free_threshold: i64::MAX,
            shipping_fee_paid: i64::MAX,
            return_fee: i64::MAX,
            delivered_at: Some(i64::MAX),
            now: i64::MAX,
            memo: Some(widest(MEMO.max)),
            items: (1..=100).map(|i| item(i64::MAX - i)).collect(),
            earlier_claims: Vec::new(),
        };
        let bytes = input.encode().len();
        let cap = crate::plugin::PluginLimits::default().input_bytes;
        // 34,488 bytes: the memo's 4,000, the set ids' 25,600 and the items' numbers.
        assert!(bytes < cap / 2, "{bytes} bytes against a cap of {cap}");
    }
}

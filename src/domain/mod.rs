//! The domain core: plain Rust with no database, HTTP or GraphQL types.
//!
//! Everything here is deterministic and unit-tested on its own; the service layer loads state,
//! asks these modules what to do, and persists the answer in one transaction.

/// Declares a fieldless enum with its code, its Korean term, `ALL`, `parse` and `Display`.
macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $korean:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The SCREAMING_SNAKE_CASE code (GraphQL enum value, database string, messages).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }

            /// The Korean term operators and customers see.
            pub const fn korean(self) -> &'static str {
                match self {
                    $( $name::$variant => $korean, )+
                }
            }

            /// The value whose [`as_str`](Self::as_str) is `code`, if any.
            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == code)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod actor;
pub mod analytics;
pub mod catalogue;
pub mod checkout;
pub mod claim;
pub mod money;
pub mod order;
pub mod page;
pub mod policy;
pub mod refund;
pub mod seller;
pub mod text;

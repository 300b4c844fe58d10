//! The documents of contract version 1. Amounts are whole won (`i64`), times Unix seconds UTC
//! (`i64`; `None` is written as [`crate::ABSENT`]), enums `u32` codes starting at 1.

#[cfg(feature = "json")]
use serde::{Deserialize, Serialize};

macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
        #[cfg_attr(feature = "json", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code),+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's code in a document.
            pub const fn code(self) -> u32 {
                self as u32
            }

            /// The value's name in JSON and in the API (`SIZE_OR_OPTION_CHANGE`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value of a code, if the contract defines it.
            pub fn from_code(code: u32) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

coded_enum! {
    /// The kind of claim.
    ClaimType {
        /// 취소: stop a line before it ships.
        Cancel = 1 => "CANCEL",
        /// 반품: send goods back for a refund.
        Return = 2 => "RETURN",
        /// 교환: send goods back for another option of the same product.
        Exchange = 3 => "EXCHANGE",
    }
}

coded_enum! {
    /// Why the claim was made.
    Reason {
        /// 단순 변심.
        ChangeOfMind = 1 => "CHANGE_OF_MIND",
        /// 주문 실수.
        OrderedByMistake = 2 => "ORDERED_BY_MISTAKE",
        /// 사이즈·옵션 변경.
        SizeOrOptionChange = 3 => "SIZE_OR_OPTION_CHANGE",
        /// 상품 불량·파손.
        Defective = 4 => "DEFECTIVE",
        /// 오배송.
        WrongItemDelivered = 5 => "WRONG_ITEM_DELIVERED",
        /// 배송 지연.
        DeliveryDelayed = 6 => "DELIVERY_DELAYED",
        /// 품절 (the seller's cancel only).
        OutOfStock = 7 => "OUT_OF_STOCK",
        /// 기타.
        Other = 8 => "OTHER",
    }
}

coded_enum! {
    /// Who is at fault (귀책).
    Fault {
        /// The customer: change of mind, ordered by mistake, size change, other.
        Customer = 1 => "CUSTOMER",
        /// The seller: defect, wrong item, late delivery, out of stock.
        Seller = 2 => "SELLER",
    }
}

coded_enum! {
    /// How the goods come back.
    CollectionMethod {
        /// The seller's courier collects them (회수).
        Pickup = 1 => "PICKUP",
        /// The customer sends them (직접 발송).
        CustomerShips = 2 => "CUSTOMER_SHIPS",
    }
}

/// A claimed line and its units.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct Item {
    /// The order line.
    pub line_id: i64,
    /// Its product.
    pub product_id: i64,
    /// Its option (size, colour, ...).
    pub option_id: i64,
    /// The price of one unit, in won.
    pub unit_price: i64,
    /// Units claimed.
    pub quantity: u32,
    /// The product is bulky (대형 상품: furniture, appliances).
    pub bulky: bool,
    /// The set (세트) the line belongs to, if any.
    pub bundle_id: Option<String>,
}

/// An earlier claim of the same order, one record per claimed line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct EarlierClaim {
    /// The line it claimed.
    pub line_id: i64,
    /// Its type.
    pub claim_type: ClaimType,
    /// Its reason.
    pub reason: Reason,
    /// Its fault.
    pub fault: Fault,
    /// Units it claimed of the line.
    pub quantity: u32,
}

/// Input of `claim_fees`: a return or exchange being requested (never a cancel).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct ClaimFeesInput {
    /// RETURN or EXCHANGE.
    pub claim_type: ClaimType,
    /// Why.
    pub reason: Reason,
    /// How the goods come back.
    pub collection_method: CollectionMethod,
    /// The shipping group's base fee at checkout.
    pub base_fee: i64,
    /// The group's free-shipping threshold at checkout.
    pub free_threshold: i64,
    /// The shipping fee the group paid at checkout (0 when it shipped free).
    pub shipping_fee_paid: i64,
    /// The seller's configured one-way return fee.
    pub return_fee: i64,
    /// When the claimed goods were delivered (the latest line), Unix seconds.
    pub delivered_at: Option<i64>,
    /// Now, Unix seconds: the only clock a plugin has.
    pub now: i64,
    /// The customer's words.
    pub memo: Option<String>,
    /// The units claimed.
    pub items: Vec<Item>,
    /// Earlier claims of this seller's lines in the order that were not withdrawn (never
    /// another seller's).
    pub earlier_claims: Vec<EarlierClaim>,
}

/// Output of `claim_fees`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct FeeDecision {
    /// Who is at fault.
    pub fault: Fault,
    /// The return fee a customer-fault return deducts from its refund, in won (≥ 0).
    pub return_fee: i64,
    /// Whether the initial-shipping charge may apply (a return that breaks free shipping).
    pub initial_shipping: bool,
    /// Whether the coupon clawback may apply (a return that breaks a coupon's minimum).
    pub coupon_clawback: bool,
    /// What a customer-fault exchange costs the customer, in won (≥ 0; 0 for none).
    pub exchange_fee: i64,
    /// A message for the customer.
    pub message: Option<String>,
}

/// A line of the order, of the claim's seller, as `exchange_rules` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct OrderLine {
    /// The line.
    pub line_id: i64,
    /// Units still active (not cancelled or returned).
    pub active_quantity: u32,
    /// Its set, if any.
    pub bundle_id: Option<String>,
}

/// A unit to exchange and what it is exchanged for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct ExchangeItem {
    /// The claimed line and units.
    pub item: Item,
    /// The replacement option.
    pub replacement_option_id: i64,
    /// Its unit price, in won.
    pub replacement_price: i64,
    /// Its stock.
    pub replacement_stock: u32,
}

/// Input of `exchange_rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct ExchangeRulesInput {
    /// Why.
    pub reason: Reason,
    /// The fault `claim_fees` decided (it runs first).
    pub fault: Fault,
    /// Now, Unix seconds.
    pub now: i64,
    /// The order's lines of this seller.
    pub order_lines: Vec<OrderLine>,
    /// The units to exchange.
    pub items: Vec<ExchangeItem>,
    /// Earlier exchanges of these lines.
    pub earlier_exchanges: Vec<EarlierClaim>,
}

/// Output of `exchange_rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct ExchangeVerdict {
    /// May the exchange go ahead as asked?
    pub allowed: bool,
    /// A stable code when refused (e.g. `BUNDLE_MUST_BE_WHOLE`).
    pub code: Option<String>,
    /// Why, for the customer.
    pub message: Option<String>,
    /// Lines that must be added (with all their active units) for the exchange to be allowed.
    pub required_line_ids: Vec<i64>,
}

impl ExchangeVerdict {
    /// The exchange may go ahead.
    pub fn allow() -> ExchangeVerdict {
        ExchangeVerdict {
            allowed: true,
            code: None,
            message: None,
            required_line_ids: Vec::new(),
        }
    }
}

/// Input of `claim_window`: may a claim still be opened?
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct ClaimWindowInput {
    /// RETURN or EXCHANGE.
    pub claim_type: ClaimType,
    /// Why.
    pub reason: Reason,
    /// The fault `claim_fees` decided.
    pub fault: Fault,
    /// When the line shipped, Unix seconds.
    pub shipped_at: Option<i64>,
    /// When it was delivered, Unix seconds.
    pub delivered_at: Option<i64>,
    /// When its purchase was confirmed (구매확정), Unix seconds.
    pub purchase_confirmed_at: Option<i64>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Output of `claim_window`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "camelCase"))]
pub struct WindowVerdict {
    /// May the claim be opened now?
    pub allowed: bool,
    /// A stable code when refused (e.g. `WINDOW_CLOSED`).
    pub code: Option<String>,
    /// Why not, for the customer.
    pub message: Option<String>,
}

impl WindowVerdict {
    /// The claim may be opened.
    pub fn allow() -> WindowVerdict {
        WindowVerdict {
            allowed: true,
            code: None,
            message: None,
        }
    }
}

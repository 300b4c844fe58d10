/*
 * oms_policy_v1.h — the OMS seller-policy plugin contract, version 1.
 *
 * This file is the contract. A partner who writes a policy in C, Zig, AssemblyScript, Go, WAT
 * or anything else that compiles to WebAssembly needs nothing else; the Rust SDK
 * (plugins/sdk) implements exactly what is written here. Every structure below is checked
 * with static assertions against the byte offsets of the encoding, so the header itself
 * proves the layout (plugins/contract/check.sh compiles it).
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * ==========================================================================================
 * 1. What a policy is
 * ==========================================================================================
 *
 * A seller's policy is a WebAssembly module. It answers one or more *hooks*, each a pure
 * function from one input document to one output document:
 *
 *   hook             input document                 output document
 *   claim_fees       oms_claim_fees_input      ->   oms_fee_decision
 *   exchange_rules   oms_exchange_rules_input  ->   oms_exchange_verdict
 *   claim_window     oms_claim_window_input    ->   oms_window_verdict
 *
 * claim_fees runs first (for returns and exchanges, never for cancels): the fault it decides
 * is an input of exchange_rules and claim_window. A hook the seller has no active module for
 * is decided by the built-in default (plugins/sdk/src/defaults.rs).
 *
 * A module is uploaded for ONE hook (uploadPlugin(hook, wasm)) and must export that hook. It
 * may export the other hooks too: the same .wasm can be uploaded once per hook, and each
 * upload only ever has its own hook called.
 *
 * ==========================================================================================
 * 2. Exports every module must have
 * ==========================================================================================
 *
 *   memory                                       the module's own linear memory (exported,
 *                                                not imported), named "memory"
 *   oms_contract_version() -> i32                returns 1 (OMS_CONTRACT_VERSION); a module
 *                                                that returns another value is refused at
 *                                                upload with the versions the server accepts
 *   oms_alloc(i32 len) -> i32 ptr                reserves len writable bytes for the input
 *                                                document and returns their address; 0 means
 *                                                failure. Nothing is ever freed (see 4.).
 *                                                Return 8-aligned addresses, so that the
 *                                                documents' int64 fields are aligned in memory
 *
 * and the hook(s), each with the same signature:
 *
 *   claim_fees     (i32 ptr, i32 len) -> i64
 *   exchange_rules (i32 ptr, i32 len) -> i64
 *   claim_window   (i32 ptr, i32 len) -> i64
 *
 * (ptr, len) is the input document oms_alloc made room for. The result packs the output
 * document's address and length as  ((uint64_t)out_ptr << 32) | out_len  (both unsigned 32-bit;
 * OMS_RESULT below). A result of 0 means "I could not decide": the evaluation fails and the
 * default decides. Other exports (e.g. the __data_end / __heap_base globals Rust's linker adds)
 * are ignored.
 *
 * ==========================================================================================
 * 3. Imports
 * ==========================================================================================
 *
 * The only import a module may have (and it is optional):
 *
 *   oms.log(i32 ptr, i32 len)                    module "oms", name "log": appends the UTF-8
 *                                                text at [ptr, ptr+len) to the evaluation's
 *                                                log. The host copies the bytes during the
 *                                                call and keeps the first 1 KiB of log per
 *                                                evaluation (the rest is dropped); dryRunPlugin
 *                                                shows it.
 *
 * Nothing else: no WASI, no clock, no randomness, no files, no network. A module that imports
 * anything else is refused at upload. Everything a policy may look at is in its input ("now"
 * included), so every evaluation can be replayed exactly.
 *
 * ==========================================================================================
 * 4. One evaluation
 * ==========================================================================================
 *
 *   1. The host instantiates the module afresh. No state survives from one evaluation to the
 *      next: globals and memory start from the module's initial values every time, so a bump
 *      allocator that never frees is the right allocator.
 *   2. It calls oms_alloc(len) with the input document's length and writes the document at
 *      the returned address. An input always follows this contract: a policy need not
 *      re-check it.
 *   3. It calls the hook with (that address, len).
 *   4. It reads the output document at (out_ptr, out_len) from linear memory and checks it
 *      against this contract (section 6). A trap, running out of fuel or time, a result of 0,
 *      or an output that breaks the contract is a failed evaluation: the claim falls back to
 *      the built-in default for that hook and the failure is recorded.
 *
 * ==========================================================================================
 * 5. Host limits (defaults; an operator may configure them)
 * ==========================================================================================
 */
#ifndef OMS_POLICY_V1_H
#define OMS_POLICY_V1_H

#include <stddef.h>
#include <stdint.h>

/** The contract version this header describes; oms_contract_version() returns it. */
#define OMS_CONTRACT_VERSION 1

/** Fuel per evaluation: about one unit per WebAssembly instruction executed (default). */
#define OMS_LIMIT_FUEL 2000000
/** Wall-clock deadline per evaluation, in milliseconds (default). */
#define OMS_LIMIT_DEADLINE_MS 5
/** Linear memory a module may have, in bytes: 16 MiB = 256 pages of 64 KiB. A module whose
 *  memory starts larger is refused at upload; its declared maximum may be anything, but
 *  growing past 16 MiB fails (memory.grow returns -1). */
#define OMS_LIMIT_MEMORY_BYTES (16u * 1024u * 1024u)
/** Size of the .wasm module, in bytes (1 MiB). Larger modules are refused at upload, and so is
 *  a module over the static shape limits (plugins/README.md, "Limits": functions, body size,
 *  locals, nesting, br_table targets, calls, ...) or one that takes longer than 3 s to compile. */
#define OMS_LIMIT_MODULE_BYTES (1024u * 1024u)
/** Largest input document the host writes, in bytes (128 KB). */
#define OMS_LIMIT_INPUT_BYTES (128u * 1024u)
/** Largest output document the host reads, in bytes (20 KB); a longer one fails. */
#define OMS_LIMIT_OUTPUT_BYTES (20u * 1024u)
/** Log kept per evaluation, in bytes (1 KiB); later log text is dropped, not an error. */
#define OMS_LIMIT_LOG_BYTES 1024u

/*
 * Reading the input costs fuel like anything else. Decoding a whole input into objects, as
 * the Rust SDK does, costs about 1,500 fuel per item with a set id and up to 25 per byte of
 * non-ASCII memo, so an input near OMS_LIMIT_INPUT_BYTES can exhaust OMS_LIMIT_FUEL before the
 * policy runs; reading the fields a policy needs in place costs almost nothing.
 *
 * Features: what Rust's wasm32-unknown-unknown target emits is accepted (WebAssembly 2.0:
 * mutable globals, sign extension, non-trapping float-to-int, multi-value, bulk memory,
 * reference types). Do not rely on threads, memory64, exceptions or GC.
 *
 * ==========================================================================================
 * 6. Encoding of the documents
 * ==========================================================================================
 *
 * - A document is a fixed-size head (the structs oms_*_input / oms_*_decision / oms_*_verdict
 *   below) at the document's first byte, followed by a tail holding the bytes of its strings
 *   and the records of its arrays. Integers are little-endian (as WebAssembly memory is), so
 *   on a WebAssembly guest the structs below can be read and written in place.
 * - Every offset counts from the document's first byte — for an output document, from out_ptr,
 *   NOT from address 0 of linear memory. Everything a document points at lies inside it:
 *   offset + length <= the document's length.
 * - oms_str: (u32 offset, u32 len) of UTF-8 bytes, no terminating NUL. len 0 means "none"
 *   (the offset is then ignored; write 0): an empty string and no string are the same.
 * - oms_array: (u32 offset, u32 count) of `count` fixed-size records, one after another. Writers
 *   place arrays at offsets that are multiples of 8 (the host always does); readers must
 *   accept any offset (WebAssembly loads need no alignment).
 * - Timestamps: int64 Unix seconds, UTC. OMS_ABSENT (INT64_MIN) means "none".
 * - Amounts: int64 whole Korean won (KRW has no minor unit). Never negative: the host
 *   sends none, and an output with a negative amount breaks the contract.
 * - Enums: uint32 codes starting at 1 (below). A code the contract does not define breaks it.
 * - Flags: uint32 bit sets (below). A bit the contract does not define breaks it.
 * - Booleans: uint32, 0 (false) or 1 (true); any other value breaks the contract.
 * - Padding fields (_pad*): writers write 0, readers ignore them.
 * - Ids (line, product, option): int64, opaque.
 * - Quantities: uint32 units.
 * - Bytes of a document that nothing points at are ignored.
 *
 * The same documents as JSON (dryRunPlugin's input and output, the Rust SDK's test files) use
 * the field names below in camelCase (line_id -> lineId), enum names as strings
 * ("SIZE_OR_OPTION_CHANGE"), null for none, and booleans in place of flag bits (item
 * "bulky"; fee decision "initialShipping", "couponClawback"). An oms_exchange_item is
 * {"item": {...}, "replacementOptionId", "replacementPrice", "replacementStock"}.
 */

#ifdef __cplusplus
extern "C" {
#define OMS_STATIC_ASSERT(condition, message) static_assert(condition, message)
#else
#define OMS_STATIC_ASSERT(condition, message) _Static_assert(condition, message)
#endif

/** An absent timestamp. */
#define OMS_ABSENT INT64_MIN

/* ======================================================================================== */
/* Enums                                                                                    */
/* ======================================================================================== */

/** The kind of claim (JSON: "CANCEL", "RETURN", "EXCHANGE"). */
enum oms_claim_type {
    OMS_CLAIM_CANCEL = 1,   /**< CANCEL 취소: a line stopped before it ships */
    OMS_CLAIM_RETURN = 2,   /**< RETURN 반품: goods sent back for a refund */
    OMS_CLAIM_EXCHANGE = 3, /**< EXCHANGE 교환: goods sent back for another option */
};

/** Why the claim was made. The default fault of each reason is given after it. */
enum oms_reason {
    OMS_REASON_CHANGE_OF_MIND = 1,        /**< CHANGE_OF_MIND 단순 변심; CUSTOMER */
    OMS_REASON_ORDERED_BY_MISTAKE = 2,    /**< ORDERED_BY_MISTAKE 주문 실수; CUSTOMER */
    OMS_REASON_SIZE_OR_OPTION_CHANGE = 3, /**< SIZE_OR_OPTION_CHANGE 사이즈·옵션 변경; CUSTOMER */
    OMS_REASON_DEFECTIVE = 4,             /**< DEFECTIVE 상품 불량·파손; SELLER */
    OMS_REASON_WRONG_ITEM_DELIVERED = 5,  /**< WRONG_ITEM_DELIVERED 오배송; SELLER */
    OMS_REASON_DELIVERY_DELAYED = 6,      /**< DELIVERY_DELAYED 배송 지연; SELLER */
    OMS_REASON_OUT_OF_STOCK = 7,          /**< OUT_OF_STOCK 품절 (the seller's cancel); SELLER */
    OMS_REASON_OTHER = 8,                 /**< OTHER 기타; CUSTOMER */
};

/** Who is at fault (귀책). */
enum oms_fault {
    OMS_FAULT_CUSTOMER = 1, /**< CUSTOMER: the customer bears the claim's costs */
    OMS_FAULT_SELLER = 2,   /**< SELLER: the seller bears them */
};

/** How returned goods come back. */
enum oms_collection_method {
    OMS_COLLECTION_PICKUP = 1,         /**< PICKUP 회수: the seller's courier collects them */
    OMS_COLLECTION_CUSTOMER_SHIPS = 2, /**< CUSTOMER_SHIPS 직접 발송: the customer sends them */
};

/** oms_item.flags bits. */
enum oms_item_flag {
    OMS_ITEM_BULKY = 1u << 0, /**< bulky product (대형 상품: furniture, appliances); JSON "bulky" */
};

/** oms_fee_decision.flags bits. */
enum oms_fee_flag {
    /** The initial-shipping charge may apply: a customer-fault claim that breaks the
     *  group's free shipping (무료배송 조건 미달) is charged the base fee. JSON
     *  "initialShipping". */
    OMS_FEE_INITIAL_SHIPPING = 1u << 0,
    /** The coupon clawback may apply: a customer-fault claim that takes the order below its
     *  coupon's minimum purchase gives back the coupon shares of what remains. JSON
     *  "couponClawback". */
    OMS_FEE_COUPON_CLAWBACK = 1u << 1,
};

/* ======================================================================================== */
/* Strings and arrays                                                                       */
/* ======================================================================================== */

/** A UTF-8 string inside the document (no NUL). len 0 = none. */
typedef struct oms_str {
    uint32_t offset; /**< first byte, counted from the document's first byte */
    uint32_t len;    /**< length in bytes; 0 = none (offset ignored) */
} oms_str;
OMS_STATIC_ASSERT(sizeof(oms_str) == 8, "oms_str is 8 bytes");
OMS_STATIC_ASSERT(offsetof(oms_str, offset) == 0, "oms_str.offset at 0");
OMS_STATIC_ASSERT(offsetof(oms_str, len) == 4, "oms_str.len at 4");

/** An array of fixed-size records inside the document. */
typedef struct oms_array {
    uint32_t offset; /**< first record, counted from the document's first byte */
    uint32_t count;  /**< number of records (not bytes) */
} oms_array;
OMS_STATIC_ASSERT(sizeof(oms_array) == 8, "oms_array is 8 bytes");
OMS_STATIC_ASSERT(offsetof(oms_array, offset) == 0, "oms_array.offset at 0");
OMS_STATIC_ASSERT(offsetof(oms_array, count) == 4, "oms_array.count at 4");

/* ======================================================================================== */
/* Records (array elements)                                                                 */
/* ======================================================================================== */

/** A claimed order line and how many of its units are claimed. 48 bytes. */
typedef struct oms_item {
    int64_t line_id;    /**< the order line (주문 상품) */
    int64_t product_id; /**< its product */
    int64_t option_id;  /**< its option (size, colour, ...) */
    int64_t unit_price; /**< price of one unit, won, >= 0 */
    uint32_t quantity;  /**< units of the line claimed */
    uint32_t flags;     /**< enum oms_item_flag bits (OMS_ITEM_BULKY) */
    oms_str bundle_id;  /**< the set (세트) the line belongs to; none when not in a set */
} oms_item;
OMS_STATIC_ASSERT(sizeof(oms_item) == 48, "oms_item is 48 bytes");
OMS_STATIC_ASSERT(offsetof(oms_item, line_id) == 0, "oms_item.line_id at 0");
OMS_STATIC_ASSERT(offsetof(oms_item, product_id) == 8, "oms_item.product_id at 8");
OMS_STATIC_ASSERT(offsetof(oms_item, option_id) == 16, "oms_item.option_id at 16");
OMS_STATIC_ASSERT(offsetof(oms_item, unit_price) == 24, "oms_item.unit_price at 24");
OMS_STATIC_ASSERT(offsetof(oms_item, quantity) == 32, "oms_item.quantity at 32");
OMS_STATIC_ASSERT(offsetof(oms_item, flags) == 36, "oms_item.flags at 36");
OMS_STATIC_ASSERT(offsetof(oms_item, bundle_id) == 40, "oms_item.bundle_id at 40");

/** An earlier claim of the same order that was not withdrawn, one record per line it
 *  claimed — of this seller's lines only: a plugin never sees another seller's claims on a
 *  shared order. (Before this was enforced the list could hold them; the layout did not
 *  change, so the contract version stays 1.) 24 bytes. */
typedef struct oms_earlier_claim {
    int64_t line_id;     /**< the line it claimed */
    uint32_t claim_type; /**< enum oms_claim_type (CANCEL possible here) */
    uint32_t reason;     /**< enum oms_reason */
    uint32_t fault;      /**< enum oms_fault it was decided with */
    uint32_t quantity;   /**< units of the line it claimed */
} oms_earlier_claim;
OMS_STATIC_ASSERT(sizeof(oms_earlier_claim) == 24, "oms_earlier_claim is 24 bytes");
OMS_STATIC_ASSERT(offsetof(oms_earlier_claim, line_id) == 0, "line_id at 0");
OMS_STATIC_ASSERT(offsetof(oms_earlier_claim, claim_type) == 8, "claim_type at 8");
OMS_STATIC_ASSERT(offsetof(oms_earlier_claim, reason) == 12, "reason at 12");
OMS_STATIC_ASSERT(offsetof(oms_earlier_claim, fault) == 16, "fault at 16");
OMS_STATIC_ASSERT(offsetof(oms_earlier_claim, quantity) == 20, "quantity at 20");

/** A line of the order (only the claim's seller's lines), as exchange_rules sees it.
 *  24 bytes. */
typedef struct oms_order_line {
    int64_t line_id;          /**< the line */
    uint32_t active_quantity; /**< units still active (not cancelled or returned) */
    uint32_t _pad0;           /**< padding: 0 */
    oms_str bundle_id;        /**< its set (세트); none when not in a set */
} oms_order_line;
OMS_STATIC_ASSERT(sizeof(oms_order_line) == 24, "oms_order_line is 24 bytes");
OMS_STATIC_ASSERT(offsetof(oms_order_line, line_id) == 0, "line_id at 0");
OMS_STATIC_ASSERT(offsetof(oms_order_line, active_quantity) == 8, "active_quantity at 8");
OMS_STATIC_ASSERT(offsetof(oms_order_line, bundle_id) == 16, "bundle_id at 16");

/** A claimed unit group to exchange and the option it is exchanged for. 72 bytes. */
typedef struct oms_exchange_item {
    oms_item item;                 /**< the claimed line and units (bundle_id points into
                                        the same document) */
    int64_t replacement_option_id; /**< the option the customer wants instead */
    int64_t replacement_price;     /**< its unit price, won, >= 0 */
    uint32_t replacement_stock;    /**< its units in stock */
    uint32_t _pad0;                /**< padding: 0 */
} oms_exchange_item;
OMS_STATIC_ASSERT(sizeof(oms_exchange_item) == 72, "oms_exchange_item is 72 bytes");
OMS_STATIC_ASSERT(offsetof(oms_exchange_item, item) == 0, "item at 0");
OMS_STATIC_ASSERT(offsetof(oms_exchange_item, replacement_option_id) == 48,
                  "replacement_option_id at 48");
OMS_STATIC_ASSERT(offsetof(oms_exchange_item, replacement_price) == 56,
                  "replacement_price at 56");
OMS_STATIC_ASSERT(offsetof(oms_exchange_item, replacement_stock) == 64,
                  "replacement_stock at 64");

/* ======================================================================================== */
/* claim_fees: who is at fault and what the customer pays (배송비 부담)                      */
/* ======================================================================================== */

/** Input of claim_fees: a return or an exchange being requested. 88-byte head. */
typedef struct oms_claim_fees_input {
    uint32_t claim_type;        /**< enum oms_claim_type: RETURN or EXCHANGE, never CANCEL */
    uint32_t reason;            /**< enum oms_reason the customer gave */
    uint32_t collection_method; /**< enum oms_collection_method */
    uint32_t _pad0;             /**< padding: 0 */
    int64_t base_fee;           /**< the shipping group's base fee at checkout, won */
    int64_t free_threshold;     /**< the group's free-shipping threshold at checkout, won */
    int64_t shipping_fee_paid;  /**< shipping the group paid at checkout, won (0 = shipped
                                     free) */
    int64_t return_fee;         /**< the seller's configured one-way return fee, won */
    int64_t delivered_at;       /**< when the claimed goods were delivered (the latest line),
                                     Unix seconds; OMS_ABSENT if not delivered */
    int64_t now;                /**< now, Unix seconds: the only clock a plugin has */
    oms_str memo;               /**< the customer's words; none if not given */
    oms_array items;            /**< oms_item[]: the units claimed */
    oms_array earlier_claims;   /**< oms_earlier_claim[]: earlier claims of this seller's
                                     lines in the order (never another seller's) */
} oms_claim_fees_input;
OMS_STATIC_ASSERT(sizeof(oms_claim_fees_input) == 88, "oms_claim_fees_input is 88 bytes");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, claim_type) == 0, "claim_type at 0");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, reason) == 4, "reason at 4");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, collection_method) == 8,
                  "collection_method at 8");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, base_fee) == 16, "base_fee at 16");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, free_threshold) == 24, "free_threshold at 24");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, shipping_fee_paid) == 32,
                  "shipping_fee_paid at 32");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, return_fee) == 40, "return_fee at 40");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, delivered_at) == 48, "delivered_at at 48");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, now) == 56, "now at 56");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, memo) == 64, "memo at 64");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, items) == 72, "items at 72");
OMS_STATIC_ASSERT(offsetof(oms_claim_fees_input, earlier_claims) == 80, "earlier_claims at 80");

/** Output of claim_fees. 32-byte head. The amounts are what the settlement rules
 *  (money.md) apply; whether each applies at all is settled there (e.g. a return fee is
 *  only deducted from a CUSTOMER-fault return). The marketplace caps each amount (by default
 *  50,000 won; the server's --plugin-fee-cap): an output with return_fee or exchange_fee
 *  above the cap is a failed evaluation (BAD_OUTPUT) and the built-in default decides. */
typedef struct oms_fee_decision {
    uint32_t fault;       /**< enum oms_fault: who is at fault; also the input of
                               exchange_rules and claim_window */
    uint32_t flags;       /**< enum oms_fee_flag bits: OMS_FEE_INITIAL_SHIPPING,
                               OMS_FEE_COUPON_CLAWBACK */
    int64_t return_fee;   /**< the one-way return fee a CUSTOMER-fault return deducts from its
                               refund, won, >= 0 (the default: the seller's return_fee) */
    int64_t exchange_fee; /**< what a CUSTOMER-fault exchange costs the customer, paid
                               separately, won, >= 0; 0 = free (the default: the round trip,
                               2 x return_fee) */
    oms_str message;      /**< a message shown to the customer; none for no message */
} oms_fee_decision;
OMS_STATIC_ASSERT(sizeof(oms_fee_decision) == 32, "oms_fee_decision is 32 bytes");
OMS_STATIC_ASSERT(offsetof(oms_fee_decision, fault) == 0, "fault at 0");
OMS_STATIC_ASSERT(offsetof(oms_fee_decision, flags) == 4, "flags at 4");
OMS_STATIC_ASSERT(offsetof(oms_fee_decision, return_fee) == 8, "return_fee at 8");
OMS_STATIC_ASSERT(offsetof(oms_fee_decision, exchange_fee) == 16, "exchange_fee at 16");
OMS_STATIC_ASSERT(offsetof(oms_fee_decision, message) == 24, "message at 24");

/* ======================================================================================== */
/* exchange_rules: may this (partial) exchange go ahead as asked? (부분 교환)               */
/* ======================================================================================== */

/** Input of exchange_rules. 40-byte head. */
typedef struct oms_exchange_rules_input {
    uint32_t reason;             /**< enum oms_reason of the exchange */
    uint32_t fault;              /**< enum oms_fault claim_fees decided (it runs first) */
    int64_t now;                 /**< now, Unix seconds */
    oms_array order_lines;       /**< oms_order_line[]: the order's lines of this seller */
    oms_array items;             /**< oms_exchange_item[]: the units to exchange */
    oms_array earlier_exchanges; /**< oms_earlier_claim[]: earlier exchanges of these lines */
} oms_exchange_rules_input;
OMS_STATIC_ASSERT(sizeof(oms_exchange_rules_input) == 40, "oms_exchange_rules_input is 40 bytes");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, reason) == 0, "reason at 0");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, fault) == 4, "fault at 4");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, now) == 8, "now at 8");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, order_lines) == 16, "order_lines at 16");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, items) == 24, "items at 24");
OMS_STATIC_ASSERT(offsetof(oms_exchange_rules_input, earlier_exchanges) == 32,
                  "earlier_exchanges at 32");

/** Output of exchange_rules. 32-byte head. */
typedef struct oms_exchange_verdict {
    uint32_t allowed;            /**< boolean: 1 = the exchange may go ahead as asked */
    uint32_t _pad0;              /**< padding: 0 */
    oms_str code;                /**< when refused: a stable code, e.g. "BUNDLE_MUST_BE_WHOLE" */
    oms_str message;             /**< when refused: why, for the customer */
    oms_array required_line_ids; /**< int64_t[]: lines that must be added, with all their
                                      active units, for the exchange to be allowed */
} oms_exchange_verdict;
OMS_STATIC_ASSERT(sizeof(oms_exchange_verdict) == 32, "oms_exchange_verdict is 32 bytes");
OMS_STATIC_ASSERT(offsetof(oms_exchange_verdict, allowed) == 0, "allowed at 0");
OMS_STATIC_ASSERT(offsetof(oms_exchange_verdict, code) == 8, "code at 8");
OMS_STATIC_ASSERT(offsetof(oms_exchange_verdict, message) == 16, "message at 16");
OMS_STATIC_ASSERT(offsetof(oms_exchange_verdict, required_line_ids) == 24,
                  "required_line_ids at 24");

/* ======================================================================================== */
/* claim_window: may a claim still be opened?                                              */
/* ======================================================================================== */

/** Input of claim_window. 48-byte head. */
typedef struct oms_claim_window_input {
    uint32_t claim_type;           /**< enum oms_claim_type: RETURN or EXCHANGE */
    uint32_t reason;               /**< enum oms_reason */
    uint32_t fault;                /**< enum oms_fault claim_fees decided */
    uint32_t _pad0;                /**< padding: 0 */
    int64_t shipped_at;            /**< when the line shipped, Unix seconds; OMS_ABSENT */
    int64_t delivered_at;          /**< when it was delivered, Unix seconds; OMS_ABSENT */
    int64_t purchase_confirmed_at; /**< when its purchase was confirmed (구매확정), Unix
                                        seconds; OMS_ABSENT while not confirmed */
    int64_t now;                   /**< now, Unix seconds */
} oms_claim_window_input;
OMS_STATIC_ASSERT(sizeof(oms_claim_window_input) == 48, "oms_claim_window_input is 48 bytes");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, claim_type) == 0, "claim_type at 0");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, reason) == 4, "reason at 4");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, fault) == 8, "fault at 8");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, shipped_at) == 16, "shipped_at at 16");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, delivered_at) == 24, "delivered_at at 24");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, purchase_confirmed_at) == 32,
                  "purchase_confirmed_at at 32");
OMS_STATIC_ASSERT(offsetof(oms_claim_window_input, now) == 40, "now at 40");

/** Output of claim_window. 24-byte head. */
typedef struct oms_window_verdict {
    uint32_t allowed; /**< boolean: 1 = the claim may be opened now */
    uint32_t _pad0;   /**< padding: 0 */
    oms_str code;     /**< when refused: a stable code, e.g. "WINDOW_CLOSED" */
    oms_str message;  /**< when refused: why not, for the customer */
} oms_window_verdict;
OMS_STATIC_ASSERT(sizeof(oms_window_verdict) == 24, "oms_window_verdict is 24 bytes");
OMS_STATIC_ASSERT(offsetof(oms_window_verdict, allowed) == 0, "allowed at 0");
OMS_STATIC_ASSERT(offsetof(oms_window_verdict, code) == 8, "code at 8");
OMS_STATIC_ASSERT(offsetof(oms_window_verdict, message) == 16, "message at 16");

/* ======================================================================================== */
/* The ABI as C declarations (for C guests; other languages: see sections 2 and 3)          */
/* ======================================================================================== */

/** Packs a hook's result: the output document's address and length. */
#define OMS_RESULT(out_ptr, out_len) \
    ((int64_t)(((uint64_t)(uint32_t)(out_ptr) << 32) | (uint64_t)(uint32_t)(out_len)))

#if defined(__wasm__) && defined(__clang__)
/** Marks a definition as an export under the contract's name. */
#define OMS_EXPORT(name) __attribute__((export_name(name)))
#define OMS_IMPORT(name) __attribute__((import_module("oms"), import_name(name)))
#else
#define OMS_EXPORT(name)
#define OMS_IMPORT(name)
#endif

/** Import oms.log: appends len bytes of UTF-8 text at ptr to the evaluation's log. */
OMS_IMPORT("log") void oms_log(const char *ptr, int32_t len);

/* Exports. A module defines oms_contract_version, oms_alloc and the hook(s) it is uploaded
 * for, each marked with its export name, e.g.
 *   OMS_EXPORT("claim_fees") int64_t claim_fees(int32_t ptr, int32_t len) { ... }
 * wasm-ld exports the memory as "memory" by default; the heap may start at the linker's
 * __heap_base. Without a libc:
 *   clang --target=wasm32 -ffreestanding -nostdlib -O2 -Wl,--no-entry -o policy.wasm policy.c
 */
int32_t oms_contract_version(void);            /**< returns OMS_CONTRACT_VERSION */
int32_t oms_alloc(int32_t len);                /**< len writable bytes; 0 = failure */
int64_t claim_fees(int32_t ptr, int32_t len);     /**< oms_claim_fees_input -> oms_fee_decision */
int64_t exchange_rules(int32_t ptr, int32_t len); /**< -> oms_exchange_verdict */
int64_t claim_window(int32_t ptr, int32_t len);   /**< -> oms_window_verdict */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OMS_POLICY_V1_H */

//! The claim state machine (취소·반품·교환, `claims.md`) as data: pure Rust, no database, HTTP
//! or GraphQL types, no I/O.
//!
//! - [`ClaimStatus`], [`ClaimAction`], [`HoldState`] and the other enums: the vocabulary
//!   (`status.rs`).
//! - [`TRANSITIONS`] and [`OPENINGS`]: the contract's tables as `static` slices of rows, and the lookups
//!   [`decide`], [`open`] and [`available_actions`] that read them (`table.rs`).
//! - [`docs::render_markdown`]: the same tables as Markdown and Mermaid, checked in as
//!   `docs/claim-transitions.md` (`docs.rs`).
//!
//! The service layer loads a claim, builds its [`ClaimFacts`], asks [`plan`] for the row (and
//! prices the refund when the row [prices](Row::prices)), takes the row's [`Transition`]
//! (status, hold, effects) and persists it with its timeline event in one transaction.
//! Opening a claim goes the same way through [`plan_opening`] and [`OpeningRow::start`]. A
//! [`Refusal`] names the status, the action and what is allowed instead. A transition that
//! moves the claim's fault or fees says so in its timeline event ([`TermsChange`],
//! `change.rs`).

mod change;
pub mod docs;
mod status;
mod table;

#[cfg(test)]
mod tests;

pub use change::{ChangeCause, FaultChange, FeeChange, TermsChange};
pub use status::{
    hold_blocks, ActionKind, ClaimAction, ClaimStatus, ClaimType, CollectionMethod, Fault,
    HoldReason, HoldState, LineStatus, Reason,
};
pub use table::{
    available_actions, check_reason, decide, matching_opening, matching_row, open, opening_kind,
    plan, plan_opening, rejection_sources, role_code, Actors, ClaimFacts, Completion,
    ConvertedClaim, Effect, FaultRule, Goods, Guard, HoldChange, HoldGuard, Opening, OpeningEffect,
    OpeningFacts, OpeningHold, OpeningKind, OpeningRefusal, OpeningRow, OpeningTarget, ReasonRule,
    RefundFacts, RefundGuard, RefundState, RefundStatus, Refusal, RejectionCode, Row, Settlement,
    StatusSet, Target, Transition, OPENINGS, ROLES, TRANSITIONS,
};

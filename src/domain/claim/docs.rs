//! Renders the claim tables (`table.rs`) as a Markdown document with Mermaid state diagrams,
//! checked in as `docs/claim-transitions.md`. Everything here is read from [`TRANSITIONS`],
//! [`OPENINGS`] and the status properties, so the docs cannot drift from the engine; a test
//! fails when the checked-in file differs from [`render_markdown`].

use std::fmt::Write as _;

use super::status::{ActionKind, ClaimAction, ClaimStatus, ClaimType};
use super::table::{
    role_code, Actors, Effect, FaultRule, Goods, HoldChange, HoldGuard, OpeningEffect, OpeningHold,
    OpeningRow, OpeningTarget, ReasonRule, RefundGuard, Row, StatusSet, Target, OPENINGS,
    TRANSITIONS,
};

/// The whole document: statuses, openings, one table and one state diagram per claim type,
/// the rows common to every type, and the hold rules.
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Claim transitions (취소·반품·교환)\n\n");
    out.push_str(
        "<!-- Generated from src/domain/claim/table.rs by src/domain/claim/docs.rs; do not \
         edit. Regenerate with `UPDATE_DOCS=1 cargo test -p oms claim::docs`. -->\n\n",
    );
    out.push_str(
        "The transition table of `claims.md` as the engine runs it. An action that no row \
         allows fails with `CLAIM_ACTION_NOT_ALLOWED` (or `CLAIM_NOT_ALLOWED` when opening a \
         claim) and changes nothing. Rows never overlap: at most one answers. Targets named \
         \"by settlement\" depend on how the refund priced in the same transaction settles: \
         with no gateway payment, through a gateway (`*_REFUNDING`), or with a fee due.\n\n",
    );

    render_statuses(&mut out);
    render_openings(&mut out);
    for claim_type in ClaimType::ALL.iter().copied() {
        render_type(&mut out, claim_type);
    }
    render_common(&mut out);
    render_hold_rules(&mut out);
    out
}

fn render_statuses(out: &mut String) {
    out.push_str("## Statuses\n\n");
    out.push_str("| status | 한국어 | type | terminal | ends a hold |\n|---|---|---|---|---|\n");
    for status in ClaimStatus::ALL.iter().copied() {
        let _ = writeln!(
            out,
            "| `{status}` | {} | {} | {} | {} |",
            status.korean(),
            status.claim_type(),
            yes_no(status.is_terminal()),
            yes_no(status.ends_hold()),
        );
    }
    out.push('\n');
}

fn render_openings(out: &mut String) {
    out.push_str("## Opening a claim\n\n");
    out.push_str(
        "A line status with no row for an action refuses it with `CLAIM_NOT_ALLOWED` (e.g. \
         `requestCancel` once SHIPPED, suggesting a return).\n\n",
    );
    out.push_str("| line status | action | actors | condition | to | effects |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for row in OPENINGS {
        render_opening_row(out, row);
    }
    out.push('\n');
}

fn render_opening_row(out: &mut String, row: &OpeningRow) {
    let lines: Vec<String> = row.lines.iter().map(|line| format!("`{line}`")).collect();
    let mut condition = Vec::new();
    match row.reasons {
        ReasonRule::AnyButOutOfStock => condition.push("reason not OUT_OF_STOCK"),
        ReasonRule::OutOfStockOnly => condition.push("reason OUT_OF_STOCK"),
    }
    let fixed;
    match row.fault {
        FaultRule::Fixed(fault) => {
            fixed = format!("{} fault (no policy asked)", fault.as_str());
            condition.push(&fixed);
        }
        FaultRule::Any => {}
        FaultRule::SellerOnly => condition.push("SELLER fault"),
    }
    let to = match row.to {
        OpeningTarget::To(status) => format!("`{status}`"),
        OpeningTarget::Complete(completion) => by_settlement(completion.statuses()),
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        lines.join(", "),
        action_cell(row.action),
        actors_cell(row.actors),
        condition.join("; "),
        to,
        opening_effects_cell(row.effects, row.hold),
    );
}

/// The claim type a row belongs to, or `None` when it spans types (holds, refund repairs).
fn row_type(row: &Row) -> Option<ClaimType> {
    match row.from {
        StatusSet::Only(statuses) => {
            let first = statuses.first()?.claim_type();
            statuses
                .iter()
                .all(|status| status.claim_type() == first)
                .then_some(first)
        }
        StatusSet::AllExcept(_) | StatusSet::Holdable => None,
    }
}

fn render_type(out: &mut String, claim_type: ClaimType) {
    let _ = writeln!(out, "## {} ({})\n", title(claim_type), claim_type.korean());
    render_row_table(
        out,
        TRANSITIONS
            .iter()
            .filter(|row| row_type(row) == Some(claim_type)),
    );
    render_diagram(out, claim_type);
}

fn render_common(out: &mut String) {
    out.push_str("## Every claim type: holds and refund repairs\n\n");
    render_row_table(
        out,
        TRANSITIONS.iter().filter(|row| row_type(row).is_none()),
    );
}

fn render_row_table<'a>(out: &mut String, rows: impl Iterator<Item = &'a Row>) {
    out.push_str("| from | action | actors | guard | to | hold | effects |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            from_cell(row.from),
            action_cell(row.action),
            actors_cell(row.actors),
            guard_cell(row),
            target_cell(row.to),
            hold_cell(row.hold),
            effects_cell(row.effects),
        );
    }
    out.push('\n');
}

fn render_diagram(out: &mut String, claim_type: ClaimType) {
    let statuses: Vec<ClaimStatus> = ClaimStatus::ALL
        .iter()
        .copied()
        .filter(|status| status.claim_type() == claim_type)
        .collect();
    let mut edges: Vec<String> = Vec::new();
    let mut push = |edge: String| {
        if !edges.contains(&edge) {
            edges.push(edge);
        }
    };
    for row in OPENINGS {
        let targets: Vec<ClaimStatus> = match row.to {
            OpeningTarget::To(status) => vec![status],
            OpeningTarget::Complete(completion) => completion.statuses().collect(),
        };
        for target in targets
            .into_iter()
            .filter(|target| target.claim_type() == claim_type)
        {
            push(format!(
                "    [*] --> {target} : {}",
                row.action.mutation_name()
            ));
        }
    }
    for row in TRANSITIONS {
        for from in row.from.statuses().filter(|s| s.claim_type() == claim_type) {
            for target in targets_from(row, from) {
                push(format!(
                    "    {from} --> {target} : {}",
                    row.action.mutation_name()
                ));
            }
        }
    }
    for status in statuses.iter().filter(|status| status.is_terminal()) {
        push(format!("    {status} --> [*]"));
    }

    out.push_str("```mermaid\nstateDiagram-v2\n");
    for status in &statuses {
        let _ = writeln!(out, "    {status} : {status} {}", status.korean());
    }
    for edge in edges {
        out.push_str(&edge);
        out.push('\n');
    }
    out.push_str("```\n\n");
}

/// The statuses a row may lead to from `from`; none for rows that keep the status.
fn targets_from(row: &Row, from: ClaimStatus) -> Vec<ClaimStatus> {
    match row.to {
        Target::To(status) => vec![status],
        Target::Stay => Vec::new(),
        Target::Complete(completion) => completion.statuses().collect(),
        Target::BeforeRejection => super::table::rejection_sources(from).collect(),
    }
}

fn render_hold_rules(out: &mut String) {
    out.push_str("## Hold rules\n\n");
    let allowed: Vec<String> = ClaimAction::ALL
        .iter()
        .copied()
        .filter(|action| action.kind() != ActionKind::Opening && action.allowed_while_held())
        .map(|action| format!("`{}` ({action})", action.mutation_name()))
        .collect();
    let _ = writeln!(
        out,
        "- While HELD, every other action waits unless the SYSTEM reports it. Still allowed: \
         {}.",
        allowed.join(", ")
    );
    out.push_str("- HOLD_PENDING blocks nothing until an OPERATOR approves it.\n");
    let ending: Vec<String> = ClaimStatus::ALL
        .iter()
        .filter(|status| status.ends_hold())
        .map(|status| format!("`{status}`"))
        .collect();
    let _ = writeln!(
        out,
        "- Entering one of these statuses ends any hold (and no hold can be placed in them): \
         {}.",
        ending.join(", ")
    );
    let holdable: Vec<String> = ClaimStatus::ALL
        .iter()
        .filter(|status| status.is_holdable())
        .map(|status| format!("`{status}`"))
        .collect();
    let _ = writeln!(out, "- Holdable statuses: {}.", holdable.join(", "));
}

fn title(claim_type: ClaimType) -> &'static str {
    match claim_type {
        ClaimType::Cancel => "Cancel",
        ClaimType::Return => "Return",
        ClaimType::Exchange => "Exchange",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        ""
    }
}

fn from_cell(from: StatusSet) -> String {
    match from {
        StatusSet::Only(statuses) => statuses
            .iter()
            .map(|status| format!("`{status}`"))
            .collect::<Vec<_>>()
            .join(", "),
        StatusSet::AllExcept([]) => "any status".to_owned(),
        StatusSet::AllExcept(statuses) => format!(
            "any but {}",
            statuses
                .iter()
                .map(|status| format!("`{status}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StatusSet::Holdable => "any holdable status".to_owned(),
    }
}

fn action_cell(action: ClaimAction) -> String {
    match action.kind() {
        ActionKind::Opening | ActionKind::Mutation => {
            format!("`{}` ({action})", action.mutation_name())
        }
        ActionKind::Fact => format!("fact {action} (`{}`)", action.mutation_name()),
    }
}

fn actors_cell(actors: Actors) -> String {
    actors.roles().map(role_code).collect::<Vec<_>>().join(", ")
}

fn guard_cell(row: &Row) -> String {
    let mut parts: Vec<&str> = Vec::new();
    match row.guard.goods {
        Goods::Any => {}
        Goods::Collected => parts.push("goods collected"),
        Goods::NotCollected => parts.push("goods not collected"),
    }
    match row.guard.hold {
        HoldGuard::Any => {}
        HoldGuard::None => parts.push("no hold"),
        HoldGuard::Pending => parts.push("HOLD_PENDING"),
        HoldGuard::HeldNotFee => parts.push("HELD, not RETURN_FEE_UNPAID"),
        HoldGuard::HeldNotFeeByCaller => {
            parts.push("HELD by the caller's role, not RETURN_FEE_UNPAID")
        }
        HoldGuard::FeeHeld => parts.push("HELD with RETURN_FEE_UNPAID"),
    }
    match row.guard.refund {
        RefundGuard::Any => {}
        RefundGuard::SomeFailed => parts.push("a refund part FAILED"),
        RefundGuard::FailedNothingElseOutstanding => {
            parts.push("a refund part FAILED, none PENDING or ACCOUNT_REQUIRED")
        }
        RefundGuard::FailedOthersOutstanding => {
            parts.push("a refund part FAILED, another PENDING or ACCOUNT_REQUIRED")
        }
        RefundGuard::SomeAccountRequired => parts.push("a refund part ACCOUNT_REQUIRED"),
        RefundGuard::AllSucceeded => parts.push("every refund part SUCCEEDED"),
    }
    parts.join("; ")
}

fn target_cell(target: Target) -> String {
    match target {
        Target::To(status) => format!("`{status}`"),
        Target::Stay => "(unchanged)".to_owned(),
        Target::Complete(completion) => by_settlement(completion.statuses()),
        Target::BeforeRejection => "the status before the rejection".to_owned(),
    }
}

fn by_settlement(statuses: impl Iterator<Item = ClaimStatus>) -> String {
    let names: Vec<String> = statuses.map(|status| format!("`{status}`")).collect();
    format!("{} (by settlement)", names.join(" / "))
}

fn hold_cell(change: HoldChange) -> &'static str {
    match change {
        HoldChange::Keep => "",
        HoldChange::Place => "HELD (the caller's hold)",
        HoldChange::PlacePending => "HOLD_PENDING (the caller's hold)",
        HoldChange::Confirm => "HELD",
        HoldChange::Clear => "none",
    }
}

fn effects_cell(effects: &[Effect]) -> String {
    effects
        .iter()
        .map(effect_text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An opening's effects, then its first hold when it may have one.
fn opening_effects_cell(effects: &[OpeningEffect], hold: OpeningHold) -> String {
    let hold = match hold {
        OpeningHold::None => None,
        OpeningHold::WhileFeeUnpaid => Some("HOLD_WHILE_FEE_UNPAID"),
    };
    effects
        .iter()
        .map(|effect| effect.as_str())
        .chain(hold)
        .collect::<Vec<_>>()
        .join(", ")
}

fn effect_text(effect: &Effect) -> String {
    match effect {
        Effect::OpenConverted(converted) => format!(
            "{} → `{}`{} [{}]",
            effect.as_str(),
            converted.status,
            if converted.carries_collection {
                " carrying the collection"
            } else {
                ""
            },
            opening_effects_cell(converted.effects, converted.hold)
        ),
        Effect::RecordRejection(code) => format!("{} {}", effect.as_str(), code.as_str()),
        Effect::Refund
        | Effect::RestockUnlessOutOfStock
        | Effect::RestockUnlessDefective
        | Effect::ReleaseReservation
        | Effect::BookPickup
        | Effect::CancelPickup
        | Effect::RecordCollection
        | Effect::ReDeliver
        | Effect::ConsumeReplacement
        | Effect::ShipAnotherReplacement
        | Effect::WriteOffShippedReplacement
        | Effect::RefundPaidFee
        | Effect::RecordFeePayment
        | Effect::WaiveFee
        | Effect::RetryFailedParts
        | Effect::MarkFailedPartsManual
        | Effect::RetryAccountRequiredParts => effect.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    const CHECKED_IN: &str = include_str!("../../../docs/claim-transitions.md");

    /// The checked-in doc must be what the table renders; `UPDATE_DOCS=1` rewrites it.
    #[test]
    fn checked_in_doc_matches_the_table() {
        let rendered = render_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join("claim-transitions.md");
            if let Err(error) = std::fs::write(&path, &rendered) {
                panic!("cannot write {}: {error}", path.display());
            }
            return;
        }
        if CHECKED_IN != rendered {
            let line = CHECKED_IN
                .lines()
                .zip(rendered.lines())
                .position(|(old, new)| old != new)
                .unwrap_or_else(|| CHECKED_IN.lines().count().min(rendered.lines().count()));
            panic!(
                "docs/claim-transitions.md differs from the transition table (first at line \
                 {}). Regenerate it with `UPDATE_DOCS=1 cargo test -p oms claim::docs` and \
                 commit the result.",
                line + 1
            );
        }
    }

    #[test]
    fn every_type_has_a_table_and_a_diagram() {
        let doc = render_markdown();
        for heading in ["## Cancel (취소)", "## Return (반품)", "## Exchange (교환)"] {
            assert!(doc.contains(heading), "missing {heading}");
        }
        assert_eq!(doc.matches("stateDiagram-v2").count(), 3);
        assert!(doc.contains("RETURN_REQUESTED --> RETURN_COLLECTING : approveClaim"));
        assert!(doc.contains("EXCHANGE_REJECT_PENDING --> EXCHANGE_COLLECTED : declineRejection"));
    }
}

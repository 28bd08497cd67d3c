//! Registration, members, tags, income, living conditions, visits, alert links.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::attachment::AttachmentHash;
use crate::calendar::YearMonth;
use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::values::{IncomeComponents, LivingConditions, MemberProfile, VisitChecklist};
use crate::money::per_capita;
use crate::region::{GridId, RegionCode};
use crate::vocab::{FocusGroup, MemberChangeReason, Relation, StudyDecision, VisitKind};

use super::super::{HouseholdError, HouseholdEvent};
use super::Ctx;

type Decision = Result<HouseholdEvent, HouseholdError>;

pub(super) fn register(
    ctx: &Ctx,
    household_id: Uuid,
    village: &RegionCode,
    grid: Option<&GridId>,
    address: &str,
    formerly_poor: bool,
    head: &MemberProfile,
) -> Decision {
    if !village.is_village() {
        return Err(FieldError::new("village", InputRule::NotAVillage).into());
    }
    if grid.is_some_and(|g| g.village() != village) {
        return Err(FieldError::new(
            "grid",
            InputRule::Invalid {
                reason: "the grid must lie in the household's village",
            },
        )
        .into());
    }
    FieldError::require_text("address", address)?;
    if head.relation != Relation::Head {
        return Err(
            FieldError::new("head.relation", InputRule::NotOneOf { allowed: "HEAD" }).into(),
        );
    }
    head.validate(ctx.today)?;
    Ok(HouseholdEvent::HouseholdRegistered {
        household_id,
        village: village.clone(),
        grid: grid.cloned(),
        address: address.trim().to_owned(),
        formerly_poor,
        head: head.clone(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn add_member(
    ctx: &Ctx,
    member: &MemberProfile,
    reason: MemberChangeReason,
    date: NaiveDate,
) -> Decision {
    if !reason.can_add() {
        return Err(FieldError::new(
            "reason",
            InputRule::NotOneOf {
                allowed: "BIRTH, MARRIAGE_IN, MOVED_IN, OTHER",
            },
        )
        .into());
    }
    if date > ctx.today {
        return Err(FieldError::in_future("date").into());
    }
    member.validate(ctx.today)?;
    if ctx.state.members.contains_key(&member.member_id) {
        return Err(HouseholdError::DuplicateId {
            record: Record::Member,
            id: member.member_id,
        });
    }
    check_unique_person_and_head(ctx, member)?;
    Ok(HouseholdEvent::MemberAdded {
        member: member.clone(),
        reason,
        date,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn update_member(ctx: &Ctx, member: &MemberProfile, note: &str) -> Decision {
    if !ctx.state.members.contains_key(&member.member_id) {
        return Err(HouseholdError::NotFound {
            record: Record::Member,
            id: member.member_id,
        });
    }
    member.validate(ctx.today)?;
    check_unique_person_and_head(ctx, member)?;
    Ok(HouseholdEvent::MemberUpdated {
        member: member.clone(),
        note: note.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

/// One person is one member, and a household has at most one head.
fn check_unique_person_and_head(ctx: &Ctx, member: &MemberProfile) -> Result<(), HouseholdError> {
    let others = || {
        ctx.state
            .members
            .values()
            .filter(|m| m.member_id != member.member_id)
    };
    if let Some(same) = others().find(|m| m.id_number.lookup_hash == member.id_number.lookup_hash) {
        return Err(HouseholdError::PersonAlreadyMember {
            member_id: same.member_id,
        });
    }
    if member.relation == Relation::Head && others().any(|m| m.relation == Relation::Head) {
        return Err(HouseholdError::HeadAlreadyPresent);
    }
    Ok(())
}

pub(super) fn remove_member(
    ctx: &Ctx,
    member_id: Uuid,
    reason: MemberChangeReason,
    date: NaiveDate,
) -> Decision {
    if !ctx.state.members.contains_key(&member_id) {
        return Err(HouseholdError::NotFound {
            record: Record::Member,
            id: member_id,
        });
    }
    if !reason.can_remove() {
        return Err(FieldError::new(
            "reason",
            InputRule::NotOneOf {
                allowed: "DEATH, MARRIAGE_OUT, MOVED_OUT, OTHER",
            },
        )
        .into());
    }
    if date > ctx.today {
        return Err(FieldError::in_future("date").into());
    }
    Ok(HouseholdEvent::MemberRemoved {
        member_id,
        reason,
        date,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn tag(ctx: &Ctx, group: FocusGroup, reason: &str) -> Decision {
    FieldError::require_text("reason", reason)?;
    if ctx.state.focus_groups.contains_key(&group) {
        return Err(HouseholdError::AlreadyTagged { group });
    }
    Ok(HouseholdEvent::FocusGroupTagged {
        group,
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn untag(ctx: &Ctx, group: FocusGroup, reason: &str) -> Decision {
    FieldError::require_text("reason", reason)?;
    if !ctx.state.focus_groups.contains_key(&group) {
        return Err(HouseholdError::NotTagged { group });
    }
    Ok(HouseholdEvent::FocusGroupUntagged {
        group,
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn record_income(
    ctx: &Ctx,
    income_id: Uuid,
    window_end: YearMonth,
    components: &IncomeComponents,
    notes: &str,
) -> Decision {
    components.validate()?;
    if window_end > YearMonth::of(ctx.today) {
        return Err(FieldError::in_future("window_end").into());
    }
    if ctx.state.incomes.iter().any(|r| r.income_id == income_id) {
        return Err(HouseholdError::DuplicateId {
            record: Record::Income,
            id: income_id,
        });
    }
    let resident_members = ctx.state.resident_count();
    let total_fen = components.total_fen();
    let per_capita_fen =
        per_capita(total_fen, resident_members).ok_or(HouseholdError::NoResidentMembers)?;
    Ok(HouseholdEvent::IncomeRecorded {
        income_id,
        window_end,
        components: *components,
        total_fen,
        resident_members,
        per_capita_fen,
        notes: notes.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn correct_income(
    ctx: &Ctx,
    income_id: Uuid,
    components: &IncomeComponents,
    reason: &str,
) -> Decision {
    let record = ctx
        .state
        .incomes
        .iter()
        .find(|r| r.income_id == income_id)
        .ok_or(HouseholdError::NotFound {
            record: Record::Income,
            id: income_id,
        })?;
    FieldError::require_text("reason", reason)?;
    components.validate()?;
    let total_fen = components.total_fen();
    let per_capita_fen =
        per_capita(total_fen, record.resident_members).ok_or(HouseholdError::NoResidentMembers)?;
    Ok(HouseholdEvent::IncomeCorrected {
        income_id,
        components: *components,
        total_fen,
        per_capita_fen,
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn assess(
    ctx: &Ctx,
    assessment_id: Uuid,
    conditions: &LivingConditions,
    notes: &str,
) -> HouseholdEvent {
    HouseholdEvent::LivingConditionsAssessed {
        assessment_id,
        conditions: *conditions,
        notes: notes.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    }
}

pub(super) fn record_visit(
    ctx: &Ctx,
    visit_id: Uuid,
    kind: VisitKind,
    checklist: &VisitChecklist,
    findings: &str,
    attachments: &[AttachmentHash],
    alert_id: Option<Uuid>,
) -> Decision {
    if ctx.state.visits.contains_key(&visit_id) {
        return Err(HouseholdError::DuplicateId {
            record: Record::Visit,
            id: visit_id,
        });
    }
    // 双月走访: the cadres' round is in February, April … December, judged on the China date.
    let month = ctx.today.month();
    if kind == VisitKind::CadreEvenMonthVisit && month % 2 == 1 {
        return Err(HouseholdError::CadreVisitInOddMonth { month });
    }
    Ok(HouseholdEvent::VisitRecorded {
        visit_id,
        kind,
        checklist: *checklist,
        findings: findings.trim().to_owned(),
        attachments: attachments.to_vec(),
        alert_id,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn correct_visit(ctx: &Ctx, visit_id: Uuid, findings: &str, reason: &str) -> Decision {
    if !ctx.state.visits.contains_key(&visit_id) {
        return Err(HouseholdError::NotFound {
            record: Record::Visit,
            id: visit_id,
        });
    }
    FieldError::require_text("findings", findings)?;
    FieldError::require_text("reason", reason)?;
    Ok(HouseholdEvent::VisitFindingsCorrected {
        visit_id,
        findings: findings.trim().to_owned(),
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn link_alert(ctx: &Ctx, alert_id: Uuid) -> Decision {
    if ctx.state.open_alerts.contains(&alert_id) {
        return Err(HouseholdError::AlertAlreadyLinked { alert_id });
    }
    Ok(HouseholdEvent::AlertLinked {
        alert_id,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn close_linked_alert(
    ctx: &Ctx,
    alert_id: Uuid,
    disposition: Option<StudyDecision>,
) -> Decision {
    if !ctx.state.open_alerts.contains(&alert_id) {
        return Err(HouseholdError::NotFound {
            record: Record::Alert,
            id: alert_id,
        });
    }
    Ok(HouseholdEvent::LinkedAlertClosed {
        alert_id,
        disposition,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

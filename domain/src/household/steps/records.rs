//! The household's records: registration, members, focus-group tags, income, living
//! conditions, visits, their corrections, and the alerts linked to the file.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::actor::Role;
use crate::attachment::AttachmentHash;
use crate::calendar::YearMonth;
use crate::command::{Ctx, Step};
use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::state::HouseholdState;
use crate::household::values::{IncomeComponents, LivingConditions, MemberProfile, VisitChecklist};
use crate::money::per_capita;
use crate::region::{GridId, RegionCode};
use crate::vocab::{FocusGroup, MemberChangeReason, Relation, StudyDecision, VisitKind};

use super::super::{HouseholdError, HouseholdEvent};
use super::{ASSESSORS, CADRE, CORRECTORS, Decision, FIELD, VILLAGE, WRITERS};

/// 建档 — open the case file of a household in a village.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterHousehold {
    pub household_id: Uuid,
    pub village: RegionCode,
    pub grid: Option<GridId>,
    pub address: String,
    /// 脱贫户 — lifted out of poverty in 2014–2020 (建档立卡).
    pub formerly_poor: bool,
    pub head: MemberProfile,
}

impl Step<HouseholdState> for RegisterHousehold {
    const ACTION: &'static str = "register a household";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if !self.village.is_village() {
            return Err(FieldError::new("village", InputRule::NotAVillage).into());
        }
        if self
            .grid
            .as_ref()
            .is_some_and(|g| g.village() != &self.village)
        {
            return Err(FieldError::new(
                "grid",
                InputRule::Invalid {
                    reason: "the grid must lie in the household's village",
                },
            )
            .into());
        }
        FieldError::require_text("address", &self.address)?;
        if self.head.relation != Relation::Head {
            return Err(
                FieldError::new("head.relation", InputRule::NotOneOf { allowed: "HEAD" }).into(),
            );
        }
        self.head.validate(ctx.today)?;
        Ok(HouseholdEvent::HouseholdRegistered {
            household_id: self.household_id,
            village: self.village.clone(),
            grid: self.grid.clone(),
            address: self.address.trim().to_owned(),
            formerly_poor: self.formerly_poor,
            head: self.head.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A member joins (birth, marriage, moving in).
#[derive(Debug, Clone, PartialEq)]
pub struct AddMember {
    pub member: MemberProfile,
    pub reason: MemberChangeReason,
    pub date: NaiveDate,
}

impl Step<HouseholdState> for AddMember {
    const ACTION: &'static str = "add a member";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if !self.reason.can_add() {
            return Err(FieldError::new(
                "reason",
                InputRule::NotOneOf {
                    allowed: "BIRTH, MARRIAGE_IN, MOVED_IN, OTHER",
                },
            )
            .into());
        }
        not_after_today(ctx, "date", self.date)?;
        self.member.validate(ctx.today)?;
        if ctx.state.members.contains_key(&self.member.member_id) {
            return Err(HouseholdError::DuplicateId {
                record: Record::Member,
                id: self.member.member_id,
            });
        }
        check_unique_person_and_head(ctx, &self.member)?;
        Ok(HouseholdEvent::MemberAdded {
            member: self.member.clone(),
            reason: self.reason,
            date: self.date,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Replaces a member's profile (health, labour, schooling… change over time).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateMember {
    pub member: MemberProfile,
    pub note: String,
}

impl Step<HouseholdState> for UpdateMember {
    const ACTION: &'static str = "update a member";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        member_of(ctx, self.member.member_id)?;
        self.member.validate(ctx.today)?;
        check_unique_person_and_head(ctx, &self.member)?;
        Ok(HouseholdEvent::MemberUpdated {
            member: self.member.clone(),
            note: self.note.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A member leaves (death, marriage, moving out); they stay in the file as a former member.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveMember {
    pub member_id: Uuid,
    pub reason: MemberChangeReason,
    pub date: NaiveDate,
}

impl Step<HouseholdState> for RemoveMember {
    const ACTION: &'static str = "remove a member";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        member_of(ctx, self.member_id)?;
        if !self.reason.can_remove() {
            return Err(FieldError::new(
                "reason",
                InputRule::NotOneOf {
                    allowed: "DEATH, MARRIAGE_OUT, MOVED_OUT, OTHER",
                },
            )
            .into());
        }
        not_after_today(ctx, "date", self.date)?;
        Ok(HouseholdEvent::MemberRemoved {
            member_id: self.member_id,
            reason: self.reason,
            date: self.date,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

fn member_of(ctx: &Ctx<HouseholdState>, member_id: Uuid) -> Result<(), HouseholdError> {
    if ctx.state.members.contains_key(&member_id) {
        Ok(())
    } else {
        Err(HouseholdError::NotFound {
            record: Record::Member,
            id: member_id,
        })
    }
}

fn not_after_today(
    ctx: &Ctx<HouseholdState>,
    field: &'static str,
    date: NaiveDate,
) -> Result<(), FieldError> {
    if date > ctx.today {
        Err(FieldError::in_future(field))
    } else {
        Ok(())
    }
}

/// One person is one member, and a household has at most one head.
fn check_unique_person_and_head(
    ctx: &Ctx<HouseholdState>,
    member: &MemberProfile,
) -> Result<(), HouseholdError> {
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

/// 三类群体 — tag one of the three focus groups, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct TagFocusGroup {
    pub group: FocusGroup,
    pub reason: String,
}

impl Step<HouseholdState> for TagFocusGroup {
    const ACTION: &'static str = "tag a focus group";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        FieldError::require_text("reason", &self.reason)?;
        if ctx.state.focus_groups.contains_key(&self.group) {
            return Err(HouseholdError::AlreadyTagged { group: self.group });
        }
        Ok(HouseholdEvent::FocusGroupTagged {
            group: self.group,
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Ends a focus-group tag, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct UntagFocusGroup {
    pub group: FocusGroup,
    pub reason: String,
}

impl Step<HouseholdState> for UntagFocusGroup {
    const ACTION: &'static str = "untag a focus group";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        FieldError::require_text("reason", &self.reason)?;
        if !ctx.state.focus_groups.contains_key(&self.group) {
            return Err(HouseholdError::NotTagged { group: self.group });
        }
        Ok(HouseholdEvent::FocusGroupUntagged {
            group: self.group,
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Net income over the 12 months ending in `window_end`, per capita over resident members.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordIncome {
    pub income_id: Uuid,
    pub window_end: YearMonth,
    pub components: IncomeComponents,
    pub notes: String,
}

impl Step<HouseholdState> for RecordIncome {
    const ACTION: &'static str = "record income";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        self.components.validate()?;
        if self.window_end > YearMonth::of(ctx.today) {
            return Err(FieldError::in_future("window_end").into());
        }
        if ctx
            .state
            .incomes
            .iter()
            .any(|r| r.income_id == self.income_id)
        {
            return Err(HouseholdError::DuplicateId {
                record: Record::Income,
                id: self.income_id,
            });
        }
        let resident_members = ctx.state.resident_count();
        let total_fen = self.components.total_fen();
        let per_capita_fen =
            per_capita(total_fen, resident_members).ok_or(HouseholdError::NoResidentMembers)?;
        Ok(HouseholdEvent::IncomeRecorded {
            income_id: self.income_id,
            window_end: self.window_end,
            components: self.components,
            total_fen,
            resident_members,
            per_capita_fen,
            notes: self.notes.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Correction of an income record: new amounts, with a reason; the member count stands.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectIncome {
    pub income_id: Uuid,
    pub components: IncomeComponents,
    pub reason: String,
}

impl Step<HouseholdState> for CorrectIncome {
    const ACTION: &'static str = "correct income";
    const ROLES: &'static [Role] = CORRECTORS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let record = ctx
            .state
            .incomes
            .iter()
            .find(|r| r.income_id == self.income_id)
            .ok_or(HouseholdError::NotFound {
                record: Record::Income,
                id: self.income_id,
            })?;
        FieldError::require_text("reason", &self.reason)?;
        self.components.validate()?;
        let total_fen = self.components.total_fen();
        let per_capita_fen = per_capita(total_fen, record.resident_members)
            .ok_or(HouseholdError::NoResidentMembers)?;
        Ok(HouseholdEvent::IncomeCorrected {
            income_id: self.income_id,
            components: self.components,
            total_fen,
            per_capita_fen,
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 两不愁三保障及饮水安全 assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessLivingConditions {
    pub assessment_id: Uuid,
    pub conditions: LivingConditions,
    pub notes: String,
}

impl Step<HouseholdState> for AssessLivingConditions {
    const ACTION: &'static str = "assess living conditions";
    const ROLES: &'static [Role] = ASSESSORS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        Ok(HouseholdEvent::LivingConditionsAssessed {
            assessment_id: self.assessment_id,
            conditions: self.conditions,
            notes: self.notes.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 走访 — a visit with its checklist, findings and attachment hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVisit {
    pub visit_id: Uuid,
    pub kind: VisitKind,
    pub checklist: VisitChecklist,
    pub findings: String,
    pub attachments: Vec<AttachmentHash>,
    /// The alert this visit verifies, if any.
    pub alert_id: Option<Uuid>,
}

impl Step<HouseholdState> for RecordVisit {
    const ACTION: &'static str = "record this kind of visit";
    const ROLES: &'static [Role] = VILLAGE;
    fn roles(&self) -> &'static [Role] {
        match self.kind {
            VisitKind::RoutineGridVisit => VILLAGE,
            VisitKind::CadreEvenMonthVisit => CADRE,
            VisitKind::AlertVerification | VisitKind::RemovalVerification => FIELD,
        }
    }
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if ctx.state.visits.contains_key(&self.visit_id) {
            return Err(HouseholdError::DuplicateId {
                record: Record::Visit,
                id: self.visit_id,
            });
        }
        // 双月走访: the cadres' round is in February, April … December, judged on the China date.
        let month = ctx.today.month();
        if self.kind == VisitKind::CadreEvenMonthVisit && month % 2 == 1 {
            return Err(HouseholdError::CadreVisitInOddMonth { month });
        }
        Ok(HouseholdEvent::VisitRecorded {
            visit_id: self.visit_id,
            kind: self.kind,
            checklist: self.checklist,
            findings: self.findings.trim().to_owned(),
            attachments: self.attachments.clone(),
            alert_id: self.alert_id,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Correction of a visit's findings, with a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectVisitFindings {
    pub visit_id: Uuid,
    pub findings: String,
    pub reason: String,
}

impl Step<HouseholdState> for CorrectVisitFindings {
    const ACTION: &'static str = "correct visit findings";
    const ROLES: &'static [Role] = WRITERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if !ctx.state.visits.contains_key(&self.visit_id) {
            return Err(HouseholdError::NotFound {
                record: Record::Visit,
                id: self.visit_id,
            });
        }
        FieldError::require_text("findings", &self.findings)?;
        FieldError::require_text("reason", &self.reason)?;
        Ok(HouseholdEvent::VisitFindingsCorrected {
            visit_id: self.visit_id,
            findings: self.findings.trim().to_owned(),
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// An alert about this household was raised: it blocks removal until closed. Issued by the
/// alert reactor, never by a client.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkAlert {
    pub alert_id: Uuid,
}

impl Step<HouseholdState> for LinkAlert {
    const ACTION: &'static str = "link an alert";
    const ROLES: &'static [Role] = WRITERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if ctx.state.open_alerts.contains(&self.alert_id) {
            return Err(HouseholdError::AlertAlreadyLinked {
                alert_id: self.alert_id,
            });
        }
        Ok(HouseholdEvent::AlertLinked {
            alert_id: self.alert_id,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A linked alert was closed with its disposition. Issued by the alert reactor.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseLinkedAlert {
    pub alert_id: Uuid,
    pub disposition: Option<StudyDecision>,
}

impl Step<HouseholdState> for CloseLinkedAlert {
    const ACTION: &'static str = "close a linked alert";
    const ROLES: &'static [Role] = WRITERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if !ctx.state.open_alerts.contains(&self.alert_id) {
            return Err(HouseholdError::NotFound {
                record: Record::Alert,
                id: self.alert_id,
            });
        }
        Ok(HouseholdEvent::LinkedAlertClosed {
            alert_id: self.alert_id,
            disposition: self.disposition,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

//! `decide` for households: who may, then what the rules allow.
//!
//! Every command is checked in the same order: the household exists (or, to register, does
//! not); the actor's role may issue the command and their jurisdiction covers the village;
//! a carried policy book is the household's province's; then the command's own input and
//! procedure rules.

mod assistance;
mod identification;
mod records;
mod removal;

use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::{Actor, Role, authorise};
use crate::calendar::china_date;
use crate::decider::Decider;
use crate::policy::{PolicyBook, PolicyRules};
use crate::region::RegionCode;
use crate::vocab::VisitKind;

use super::eligibility::{Eligibility, removal_eligibility_under};
use super::{HouseholdCommand, HouseholdError, HouseholdEvent, HouseholdState};

/// The household decider.
pub struct Household;

impl Decider for Household {
    type Command = HouseholdCommand;
    type Event = HouseholdEvent;
    type State = HouseholdState;
    type Error = HouseholdError;

    fn decide(
        cmd: &HouseholdCommand,
        state: &HouseholdState,
    ) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        decide(cmd, state).map(|event| vec![event])
    }

    fn evolve(state: HouseholdState, event: &HouseholdEvent) -> HouseholdState {
        state.evolve(event)
    }
}

/// What every step needs besides its own fields.
pub(super) struct Ctx<'a> {
    pub state: &'a HouseholdState,
    pub by: &'a Actor,
    pub at: DateTime<Utc>,
    /// The business date in China.
    pub today: NaiveDate,
    pub policy: Option<&'a PolicyBook>,
}

impl Ctx<'_> {
    /// The rules in force on the command's business date.
    pub fn rules(&self) -> PolicyRules {
        self.policy
            .map_or_else(PolicyRules::national_2023, |p| p.rules_in_force(self.today))
    }

    pub fn eligibility(&self) -> Eligibility {
        let empty = PolicyBook::default();
        removal_eligibility_under(self.state, self.policy.unwrap_or(&empty), self.today)
    }
}

use Role::{CountyOfficer, GridWorker, TownshipOfficer, VillageSecretary};

const VILLAGE: &[Role] = &[GridWorker, VillageSecretary];
const SECRETARY: &[Role] = &[VillageSecretary];
const TOWNSHIP: &[Role] = &[TownshipOfficer];
const COUNTY: &[Role] = &[CountyOfficer];
const CADRE: &[Role] = &[Role::Cadre];
const ASSESSORS: &[Role] = &[GridWorker, VillageSecretary, Role::Cadre];
/// Home verification teams are township and village people together.
const FIELD: &[Role] = &[GridWorker, VillageSecretary, Role::Cadre, TownshipOfficer];
const OBJECTION_TAKERS: &[Role] = &[GridWorker, VillageSecretary, TownshipOfficer];
const DECIDERS: &[Role] = &[TownshipOfficer, CountyOfficer];
const ALERT_APPLICANTS: &[Role] = &[GridWorker, VillageSecretary, TownshipOfficer, CountyOfficer];
const STOPPERS: &[Role] = &[VillageSecretary, TownshipOfficer, CountyOfficer];
const HELPERS: &[Role] = &[
    VillageSecretary,
    Role::Cadre,
    TownshipOfficer,
    CountyOfficer,
];
const CORRECTORS: &[Role] = &[GridWorker, VillageSecretary, TownshipOfficer, CountyOfficer];
/// Everyone but the read-only inspection roles.
const WRITERS: &[Role] = &[
    GridWorker,
    VillageSecretary,
    Role::Cadre,
    TownshipOfficer,
    CountyOfficer,
];

/// Which roles may issue a command. Auditors and spot checkers appear nowhere.
pub fn allowed_roles(cmd: &HouseholdCommand) -> &'static [Role] {
    use HouseholdCommand as C;
    match cmd {
        C::RegisterHousehold { .. }
        | C::AddMember { .. }
        | C::UpdateMember { .. }
        | C::RemoveMember { .. }
        | C::TagFocusGroup { .. }
        | C::UntagFocusGroup { .. }
        | C::RecordIncome { .. } => VILLAGE,
        // 一户一档一研究一措施: a township study that concludes "start identification" files the
        // application itself, naming the alert; other applications come from the village.
        C::ApplyForMonitoring {
            source_alert: Some(_),
            ..
        } => ALERT_APPLICANTS,
        C::ApplyForMonitoring { .. } => VILLAGE,
        C::AssessLivingConditions { .. } => ASSESSORS,
        C::RecordVisit { kind, .. } => match kind {
            VisitKind::RoutineGridVisit => VILLAGE,
            VisitKind::CadreEvenMonthVisit => CADRE,
            VisitKind::AlertVerification | VisitKind::RemovalVerification => FIELD,
        },
        C::CorrectIncome { .. } => CORRECTORS,
        C::CorrectVisitFindings { .. }
        | C::RecordMeasureProgress { .. }
        | C::CompleteMeasure { .. }
        | C::LinkAlert { .. }
        | C::CloseLinkedAlert { .. } => WRITERS,
        C::RecordHomeVerification { .. }
        | C::RecordObjectionReverification { .. }
        | C::RecordRemovalVerification { .. } => FIELD,
        C::RecordNoticeObjection { .. } => OBJECTION_TAKERS,
        C::RecordDataComparison { .. }
        | C::ApproveInclusion { .. }
        | C::ApproveRemoval { .. }
        | C::RollbackRemoval { .. } => COUNTY,
        C::RecordDemocraticReview { .. }
        | C::StartPublicNotice { .. }
        | C::CloseNotice { .. }
        | C::ProposeRemoval { .. }
        | C::RecordRemovalDemocraticReview { .. }
        | C::StartRemovalNotice { .. }
        | C::CloseRemovalNotice { .. } => SECRETARY,
        C::RecordTownshipReview { .. } | C::RecordRemovalTownshipReview { .. } => TOWNSHIP,
        C::RejectInclusion { .. } => DECIDERS,
        C::OpenGreenChannel { .. } | C::WithdrawRemoval { .. } => STOPPERS,
        C::CreateAssistancePlan { .. } | C::AddMeasure { .. } => HELPERS,
    }
}

fn decide(
    cmd: &HouseholdCommand,
    state: &HouseholdState,
) -> Result<HouseholdEvent, HouseholdError> {
    use HouseholdCommand as C;
    let village = village_of(cmd, state)?;
    authorise(cmd.actor(), cmd.action(), allowed_roles(cmd), village)?;
    if let Some(policy) = cmd.policy() {
        same_province(policy, village)?;
    }
    let ctx = Ctx {
        state,
        by: cmd.actor(),
        at: cmd.at(),
        today: china_date(cmd.at()),
        policy: cmd.policy(),
    };
    match cmd {
        C::RegisterHousehold {
            household_id,
            village,
            grid,
            address,
            formerly_poor,
            head,
            ..
        } => records::register(
            &ctx,
            *household_id,
            village,
            grid.as_ref(),
            address,
            *formerly_poor,
            head,
        ),
        C::AddMember {
            member,
            reason,
            date,
            ..
        } => records::add_member(&ctx, member, *reason, *date),
        C::UpdateMember { member, note, .. } => records::update_member(&ctx, member, note),
        C::RemoveMember {
            member_id,
            reason,
            date,
            ..
        } => records::remove_member(&ctx, *member_id, *reason, *date),
        C::TagFocusGroup { group, reason, .. } => records::tag(&ctx, *group, reason),
        C::UntagFocusGroup { group, reason, .. } => records::untag(&ctx, *group, reason),
        C::RecordIncome {
            income_id,
            window_end,
            components,
            notes,
            ..
        } => records::record_income(&ctx, *income_id, *window_end, components, notes),
        C::CorrectIncome {
            income_id,
            components,
            reason,
            ..
        } => records::correct_income(&ctx, *income_id, components, reason),
        C::AssessLivingConditions {
            assessment_id,
            conditions,
            notes,
            ..
        } => Ok(records::assess(&ctx, *assessment_id, conditions, notes)),
        C::RecordVisit {
            visit_id,
            kind,
            checklist,
            findings,
            attachments,
            alert_id,
            ..
        } => records::record_visit(
            &ctx,
            *visit_id,
            *kind,
            checklist,
            findings,
            attachments,
            *alert_id,
        ),
        C::CorrectVisitFindings {
            visit_id,
            findings,
            reason,
            ..
        } => records::correct_visit(&ctx, *visit_id, findings, reason),
        C::LinkAlert { alert_id, .. } => records::link_alert(&ctx, *alert_id),
        C::CloseLinkedAlert {
            alert_id,
            disposition,
            ..
        } => records::close_linked_alert(&ctx, *alert_id, *disposition),

        C::ApplyForMonitoring {
            application_id,
            signed_authorisation,
            clue_found_on,
            source_alert,
            statement,
            attachments,
            ..
        } => identification::apply(
            &ctx,
            *application_id,
            *signed_authorisation,
            *clue_found_on,
            *source_alert,
            statement,
            attachments,
        ),
        C::RecordHomeVerification {
            verifier_ids,
            findings,
            attachments,
            ..
        } => identification::home_verification(&ctx, verifier_ids, findings, attachments),
        C::RecordDataComparison {
            passed,
            flags,
            notes,
            ..
        } => identification::data_comparison(&ctx, *passed, flags, notes),
        C::RecordDemocraticReview {
            minutes,
            attendees,
            result,
            attachments,
            ..
        } => identification::democratic_review(&ctx, minutes, *attendees, *result, attachments),
        C::StartPublicNotice {
            start, attachments, ..
        } => identification::start_notice(&ctx, *start, attachments),
        C::RecordNoticeObjection {
            objection_id,
            summary,
            ..
        } => identification::objection(&ctx, *objection_id, summary),
        C::RecordObjectionReverification {
            objection_id,
            findings,
            upheld,
            attachments,
            ..
        } => identification::reverify(&ctx, *objection_id, findings, *upheld, attachments),
        C::CloseNotice { .. } => identification::close_notice(&ctx),
        C::RecordTownshipReview {
            decision, opinion, ..
        } => identification::township_review(&ctx, *decision, opinion),
        C::ApproveInclusion {
            episode_id,
            category,
            risk_types,
            baseline_per_capita_fen,
            opinion,
            ..
        } => identification::approve(
            &ctx,
            *episode_id,
            *category,
            risk_types,
            *baseline_per_capita_fen,
            opinion,
        ),
        C::RejectInclusion { reason, .. } => identification::reject(&ctx, reason),
        C::OpenGreenChannel {
            risk_type, reason, ..
        } => identification::open_green_channel(&ctx, *risk_type, reason),

        C::CreateAssistancePlan {
            plan_id,
            summary,
            helper_user_id,
            ..
        } => assistance::create_plan(&ctx, *plan_id, summary, *helper_user_id),
        C::AddMeasure {
            measure_id,
            measure_type,
            department,
            description,
            amount_fen,
            start_date,
            end_date,
            risk_types,
            ..
        } => assistance::add_measure(
            &ctx,
            assistance::NewMeasure {
                measure_id: *measure_id,
                measure_type: *measure_type,
                department,
                description,
                amount_fen: *amount_fen,
                start_date: *start_date,
                end_date: *end_date,
                risk_types,
            },
        ),
        C::RecordMeasureProgress {
            measure_id,
            progress,
            percent,
            ..
        } => assistance::progress(&ctx, *measure_id, progress, *percent),
        C::CompleteMeasure {
            measure_id,
            outcome,
            completed_on,
            ..
        } => assistance::complete(&ctx, *measure_id, outcome, *completed_on),

        C::ProposeRemoval { reason, .. } => removal::propose(&ctx, reason),
        C::RecordRemovalVerification {
            verifier_ids,
            findings,
            attachments,
            ..
        } => removal::verification(&ctx, verifier_ids, findings, attachments),
        C::RecordRemovalDemocraticReview {
            minutes,
            attendees,
            result,
            attachments,
            ..
        } => removal::democratic_review(&ctx, minutes, *attendees, *result, attachments),
        C::StartRemovalNotice {
            start, attachments, ..
        } => removal::start_notice(&ctx, *start, attachments),
        C::CloseRemovalNotice { .. } => removal::close_notice(&ctx),
        C::RecordRemovalTownshipReview {
            decision, opinion, ..
        } => removal::township_review(&ctx, *decision, opinion),
        C::ApproveRemoval { opinion, .. } => removal::approve(&ctx, opinion),
        C::WithdrawRemoval { reason, .. } => removal::withdraw(&ctx, reason),
        C::RollbackRemoval { reason, .. } => removal::rollback(&ctx, reason),
    }
}

/// The village the actor must cover: the command's for a registration, else the household's.
fn village_of<'a>(
    cmd: &'a HouseholdCommand,
    state: &'a HouseholdState,
) -> Result<&'a RegionCode, HouseholdError> {
    match (cmd, &state.registration) {
        (HouseholdCommand::RegisterHousehold { .. }, Some(_)) => {
            Err(HouseholdError::AlreadyRegistered)
        }
        (HouseholdCommand::RegisterHousehold { village, .. }, None) => Ok(village),
        (_, Some(registration)) => Ok(&registration.village),
        (_, None) => Err(HouseholdError::NotRegistered),
    }
}

fn same_province(policy: &PolicyBook, village: &RegionCode) -> Result<(), HouseholdError> {
    match &policy.province {
        Some(province) if province.as_str() != village.province() => {
            Err(HouseholdError::PolicyProvinceMismatch {
                policy: province.clone(),
                household: village.province().to_owned(),
            })
        }
        _ => Ok(()),
    }
}

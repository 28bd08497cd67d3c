//! What people ask of a household's case file: one arm per step (the structs and their rules are
//! in `steps`), carried in the common [`Command`](crate::command::Command) envelope.

use crate::command::commands;

use super::state::HouseholdState;
use super::steps::*;

commands! {
    pub enum HouseholdCommand for HouseholdState {
        // ── registration and household records ──────────────────────────────────────────
        RegisterHousehold(RegisterHousehold),
        AddMember(AddMember),
        UpdateMember(UpdateMember),
        RemoveMember(RemoveMember),
        TagFocusGroup(TagFocusGroup),
        UntagFocusGroup(UntagFocusGroup),
        RecordIncome(RecordIncome),
        CorrectIncome(CorrectIncome),
        AssessLivingConditions(AssessLivingConditions),
        RecordVisit(RecordVisit),
        CorrectVisitFindings(CorrectVisitFindings),
        // ── identification (识别纳入) ─────────────────────────────────────────────────────
        ApplyForMonitoring(ApplyForMonitoring),
        RecordHomeVerification(RecordVerification<Inclusion>),
        RecordDataComparison(RecordDataComparison),
        RecordDemocraticReview(RecordDemocraticReview<Inclusion>),
        StartPublicNotice(StartPublicNotice<Inclusion>),
        RecordNoticeObjection(RecordNoticeObjection),
        RecordObjectionReverification(RecordObjectionReverification),
        CloseNotice(CloseNotice<Inclusion>),
        RecordTownshipReview(RecordTownshipReview<Inclusion>),
        ApproveInclusion(ApproveInclusion),
        RejectInclusion(RejectInclusion),
        OpenGreenChannel(OpenGreenChannel),
        // ── assistance (精准帮扶) ─────────────────────────────────────────────────────────
        CreateAssistancePlan(CreateAssistancePlan),
        AddMeasure(AddMeasure),
        RecordMeasureProgress(RecordMeasureProgress),
        CompleteMeasure(CompleteMeasure),
        // ── risk removal (风险消除) ───────────────────────────────────────────────────────
        ProposeRemoval(ProposeRemoval),
        RecordRemovalVerification(RecordVerification<Removal>),
        RecordRemovalDemocraticReview(RecordDemocraticReview<Removal>),
        StartRemovalNotice(StartPublicNotice<Removal>),
        CloseRemovalNotice(CloseNotice<Removal>),
        RecordRemovalTownshipReview(RecordTownshipReview<Removal>),
        ApproveRemoval(ApproveRemoval),
        WithdrawRemoval(WithdrawRemoval),
        RollbackRemoval(RollbackRemoval),
        // ── alerts, recorded by the alert reactor ────────────────────────────────────────
        LinkAlert(LinkAlert),
        CloseLinkedAlert(CloseLinkedAlert),
    }
}

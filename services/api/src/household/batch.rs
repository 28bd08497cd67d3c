//! `submitBatch` — offline capture: a phone that was out of signal sends everything it
//! recorded in one request. Each item is applied on its own, in order, idempotently (its own
//! command id), with its own result: one refusal or conflict does not fail the others.
//! Business time comes from the device (`occurredAt`), recorded time from the server.

use async_graphql::{Context, Object, OneofObject, SimpleObject};
use uuid::Uuid;

use super::records::{
    AddMemberInput, AssessLivingConditionsInput, CorrectIncomeInput, CorrectVisitFindingsInput,
    FocusGroupInput, RecordIncomeInput, RecordMutation, RecordVisitInput, RegisterHouseholdInput,
    RemoveMemberInput, UpdateMemberInput,
};
use super::{HouseholdPayload, Position};

/// Most items in one batch.
pub const MAX_BATCH: usize = 200;

/// One captured command: exactly one field is set.
#[derive(OneofObject)]
pub enum BatchCommand {
    RegisterHousehold(RegisterHouseholdInput),
    AddMember(AddMemberInput),
    UpdateMember(UpdateMemberInput),
    RemoveMember(RemoveMemberInput),
    TagFocusGroup(FocusGroupInput),
    UntagFocusGroup(FocusGroupInput),
    RecordIncome(RecordIncomeInput),
    CorrectIncome(CorrectIncomeInput),
    AssessLivingConditions(AssessLivingConditionsInput),
    RecordVisit(RecordVisitInput),
    CorrectVisitFindings(CorrectVisitFindingsInput),
}

/// The outcome of one item.
#[derive(SimpleObject)]
pub struct BatchResult {
    /// The item's index in the request.
    pub index: i32,
    pub ok: bool,
    pub household_id: Option<Uuid>,
    pub position: Option<Position>,
    pub duplicate: bool,
    pub error: Option<BatchError>,
}

#[derive(SimpleObject)]
pub struct BatchError {
    /// The same codes as top-level errors (BAD_USER_INPUT, RULE_VIOLATION, CONFLICT, …).
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub rule: Option<String>,
}

#[derive(Default)]
pub struct BatchMutation;

#[Object]
impl BatchMutation {
    /// Apply many captured commands, each on its own (at most 200 per request).
    async fn submit_batch(
        &self,
        ctx: &Context<'_>,
        items: Vec<BatchCommand>,
    ) -> async_graphql::Result<Vec<BatchResult>> {
        crate::schema::caller(ctx)?;
        if items.len() > MAX_BATCH {
            return Err(crate::error::ApiError::bad_input(
                "items",
                format!("at most {MAX_BATCH} items per batch"),
            )
            .into());
        }
        let m = RecordMutation;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let result: async_graphql::Result<HouseholdPayload> = match item {
                BatchCommand::RegisterHousehold(i) => m.register_household(ctx, i).await,
                BatchCommand::AddMember(i) => m.add_member(ctx, i).await,
                BatchCommand::UpdateMember(i) => m.update_member(ctx, i).await,
                BatchCommand::RemoveMember(i) => m.remove_member(ctx, i).await,
                BatchCommand::TagFocusGroup(i) => m.tag_focus_group(ctx, i).await,
                BatchCommand::UntagFocusGroup(i) => m.untag_focus_group(ctx, i).await,
                BatchCommand::RecordIncome(i) => m.record_income(ctx, i).await,
                BatchCommand::CorrectIncome(i) => m.correct_income(ctx, i).await,
                BatchCommand::AssessLivingConditions(i) => m.assess_living_conditions(ctx, i).await,
                BatchCommand::RecordVisit(i) => m.record_visit(ctx, i).await,
                BatchCommand::CorrectVisitFindings(i) => m.correct_visit_findings(ctx, i).await,
            };
            let index = index as i32;
            out.push(match result {
                Ok(p) => BatchResult {
                    index,
                    ok: true,
                    household_id: Some(p.household.id),
                    position: Some(p.position),
                    duplicate: p.duplicate,
                    error: None,
                },
                Err(e) => {
                    let ext = |k: &str| {
                        e.extensions
                            .as_ref()
                            .and_then(|x| x.get(k))
                            .and_then(|v| match v {
                                async_graphql::Value::String(s) => Some(s.clone()),
                                _ => None,
                            })
                    };
                    BatchResult {
                        index,
                        ok: false,
                        household_id: None,
                        position: None,
                        duplicate: false,
                        error: Some(BatchError {
                            code: ext("code").unwrap_or_else(|| "INTERNAL".into()),
                            message: e.message.clone(),
                            field: ext("field"),
                            rule: ext("rule"),
                        }),
                    }
                }
            });
        }
        Ok(out)
    }
}

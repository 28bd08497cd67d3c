//! Mutations for the household's records: registration, members, focus groups, income,
//! living conditions, visits, and their corrections.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::{
    HouseholdCommand as C, IncomeComponents, LivingConditions, VisitChecklist,
};
use dixian_domain::{GridId, YearMonth, china_date};
use serde::Serialize;
use uuid::Uuid;

use super::inputs::{MemberInput, attachments};
use super::{HouseholdPayload, region, run};
use crate::error::ApiError;
use crate::exec::county_of;
use crate::schema::api;
use crate::vocab::parse;

#[derive(InputObject, Serialize)]
pub struct RegisterHouseholdInput {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    /// Leave out to have one assigned.
    pub household_id: Option<Uuid>,
    /// The village's 12-digit code.
    pub village: String,
    /// `<village>-<n>`.
    pub grid: Option<String>,
    pub address: String,
    /// 脱贫户.
    #[graphql(default)]
    pub formerly_poor: bool,
    pub head: MemberInput,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct AddMemberInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub member: MemberInput,
    /// BIRTH, MARRIAGE_IN, MOVED_IN, …
    pub reason: String,
    pub date: NaiveDate,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct UpdateMemberInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// `memberId` is required here.
    pub member: MemberInput,
    pub note: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct RemoveMemberInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub member_id: Uuid,
    /// DEATH, MARRIAGE_OUT, MOVED_OUT, …
    pub reason: String,
    pub date: NaiveDate,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct FocusGroupInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// KNOWN_DIFFICULTY, SUDDEN_DIFFICULTY or ELDERLY_OR_CHILD.
    pub group: String,
    pub reason: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct RecordIncomeInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub income_id: Option<Uuid>,
    /// The last month of the 12-month window, `YYYY-MM`.
    pub window_end: String,
    /// 工资性收入, in fen (分).
    pub wage_fen: i64,
    /// 家庭经营净收入 (may be negative).
    pub business_fen: i64,
    /// 财产净收入.
    pub property_fen: i64,
    /// 转移净收入.
    pub transfer_fen: i64,
    #[graphql(default)]
    pub notes: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct CorrectIncomeInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub income_id: Uuid,
    pub wage_fen: i64,
    pub business_fen: i64,
    pub property_fen: i64,
    pub transfer_fen: i64,
    pub reason: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct AssessLivingConditionsInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub food_clothing_secure: bool,
    pub compulsory_education_secure: bool,
    pub basic_medical_secure: bool,
    pub housing_secure: bool,
    pub drinking_water_secure: bool,
    #[graphql(default)]
    pub notes: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct RecordVisitInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub visit_id: Option<Uuid>,
    /// ROUTINE_GRID_VISIT, CADRE_EVEN_MONTH_VISIT, ALERT_VERIFICATION, REMOVAL_VERIFICATION.
    pub kind: String,
    /// 上墙材料 checked.
    #[graphql(default)]
    pub wall_materials_checked: bool,
    #[graphql(default)]
    pub situation_discussed: bool,
    #[graphql(default)]
    pub living_conditions_checked: bool,
    pub findings: String,
    /// Hex SHA-256 of photos and documents.
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub alert_id: Option<Uuid>,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Serialize)]
pub struct CorrectVisitFindingsInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub visit_id: Uuid,
    pub findings: String,
    pub reason: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

fn components(
    wage_fen: i64,
    business_fen: i64,
    property_fen: i64,
    transfer_fen: i64,
) -> IncomeComponents {
    IncomeComponents {
        wage_fen,
        business_fen,
        property_fen,
        transfer_fen,
    }
}

fn month(field: &str, value: &str) -> Result<YearMonth, ApiError> {
    value
        .parse::<YearMonth>()
        .map_err(|_| ApiError::bad_input(field, "a month is written YYYY-MM"))
}

#[derive(Default)]
pub struct RecordMutation;

#[Object]
impl RecordMutation {
    /// 建档 — open a household's case file.
    pub async fn register_household(
        &self,
        ctx: &Context<'_>,
        input: RegisterHouseholdInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let village = region("village", &input.village)?;
        let county = county_of(&village)?;
        let grid = match &input.grid {
            Some(g) => {
                Some(GridId::parse(g).map_err(|e| ApiError::bad_input("grid", e.to_string()))?)
            }
            None => None,
        };
        let household_id = input.household_id.unwrap_or(input.command_id);
        let pii = &api(ctx).pii;
        let head = input.head.to_profile("head", pii, china_date(Utc::now()))?;
        Ok(run(
            ctx,
            "registerHousehold",
            household_id,
            Some(county),
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RegisterHousehold {
                    actor,
                    at,
                    household_id,
                    village: village.clone(),
                    grid: grid.clone(),
                    address: input.address.clone(),
                    formerly_poor: input.formerly_poor,
                    head: head.clone(),
                })
            },
        )
        .await?)
    }

    /// Add a member (birth, marriage, moving in).
    pub async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let member = input
            .member
            .to_profile("member", &api(ctx).pii, china_date(Utc::now()))?;
        let reason = parse("reason", &input.reason)?;
        Ok(run(
            ctx,
            "addMember",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::AddMember {
                    actor,
                    at,
                    member: member.clone(),
                    reason,
                    date: input.date,
                })
            },
        )
        .await?)
    }

    /// Replace a member's profile (health, labour, schooling… change).
    pub async fn update_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        if input.member.member_id.is_none() {
            return Err(
                ApiError::bad_input("member.memberId", "the member to update is required").into(),
            );
        }
        let member = input
            .member
            .to_profile("member", &api(ctx).pii, china_date(Utc::now()))?;
        Ok(run(
            ctx,
            "updateMember",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::UpdateMember {
                    actor,
                    at,
                    member: member.clone(),
                    note: input.note.clone(),
                })
            },
        )
        .await?)
    }

    /// Remove a member (death, marriage out, moving out), with the date.
    pub async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let reason = parse("reason", &input.reason)?;
        Ok(run(
            ctx,
            "removeMember",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RemoveMember {
                    actor,
                    at,
                    member_id: input.member_id,
                    reason,
                    date: input.date,
                })
            },
        )
        .await?)
    }

    /// Tag one of the three focus groups (三类群体) with a reason.
    pub async fn tag_focus_group(
        &self,
        ctx: &Context<'_>,
        input: FocusGroupInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let group = parse("group", &input.group)?;
        Ok(run(
            ctx,
            "tagFocusGroup",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::TagFocusGroup {
                    actor,
                    at,
                    group,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    pub async fn untag_focus_group(
        &self,
        ctx: &Context<'_>,
        input: FocusGroupInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let group = parse("group", &input.group)?;
        Ok(run(
            ctx,
            "untagFocusGroup",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::UntagFocusGroup {
                    actor,
                    at,
                    group,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// Record 12 months of net income (per capita over resident members).
    pub async fn record_income(
        &self,
        ctx: &Context<'_>,
        input: RecordIncomeInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let window_end = month("windowEnd", &input.window_end)?;
        let income_id = input.income_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "recordIncome",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordIncome {
                    actor,
                    at,
                    income_id,
                    window_end,
                    components: components(
                        input.wage_fen,
                        input.business_fen,
                        input.property_fen,
                        input.transfer_fen,
                    ),
                    notes: input.notes.clone(),
                })
            },
        )
        .await?)
    }

    /// Correct an income record: new amounts and a reason; the original stays in the file.
    pub async fn correct_income(
        &self,
        ctx: &Context<'_>,
        input: CorrectIncomeInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "correctIncome",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::CorrectIncome {
                    actor,
                    at,
                    income_id: input.income_id,
                    components: components(
                        input.wage_fen,
                        input.business_fen,
                        input.property_fen,
                        input.transfer_fen,
                    ),
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// Assess 两不愁三保障 and drinking water.
    pub async fn assess_living_conditions(
        &self,
        ctx: &Context<'_>,
        input: AssessLivingConditionsInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let assessment_id = Uuid::now_v7();
        Ok(run(
            ctx,
            "assessLivingConditions",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::AssessLivingConditions {
                    actor,
                    at,
                    assessment_id,
                    conditions: LivingConditions {
                        food_clothing_secure: input.food_clothing_secure,
                        compulsory_education_secure: input.compulsory_education_secure,
                        basic_medical_secure: input.basic_medical_secure,
                        housing_secure: input.housing_secure,
                        drinking_water_secure: input.drinking_water_secure,
                    },
                    notes: input.notes.clone(),
                })
            },
        )
        .await?)
    }

    /// Record a visit (grid worker's routine visit, cadre's even-month visit, alert or removal
    /// verification) with its checklist, findings and attachment hashes.
    pub async fn record_visit(
        &self,
        ctx: &Context<'_>,
        input: RecordVisitInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let kind = parse("kind", &input.kind)?;
        let files = attachments("attachments", &input.attachments)?;
        let visit_id = input.visit_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "recordVisit",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordVisit {
                    actor,
                    at,
                    visit_id,
                    kind,
                    checklist: VisitChecklist {
                        wall_materials_checked: input.wall_materials_checked,
                        situation_discussed: input.situation_discussed,
                        living_conditions_checked: input.living_conditions_checked,
                    },
                    findings: input.findings.clone(),
                    attachments: files.clone(),
                    alert_id: input.alert_id,
                })
            },
        )
        .await?)
    }

    /// Correct a visit's findings, with a reason; the original stays in the file.
    pub async fn correct_visit_findings(
        &self,
        ctx: &Context<'_>,
        input: CorrectVisitFindingsInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "correctVisitFindings",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::CorrectVisitFindings {
                    actor,
                    at,
                    visit_id: input.visit_id,
                    findings: input.findings.clone(),
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }
}

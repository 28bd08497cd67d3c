//! The household mutations' inputs. Every input carries the same three fields, flattened in
//! from [`Step`] (or, to register, [`NewFile`]); the rest is what the step records. Codes are
//! GraphQL enums.

use async_graphql::InputObject;
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::{Insurance, MemberProfile};
use dixian_domain::{AttachmentHash, IdNumber};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::pii::PiiKeys;
use crate::vocab::{
    Category, Employment, FocusGroup, Health, LabourCapacity, MeasureType, MemberChangeReason,
    Relation, ReviewResult, RiskType, SafetyNet, Schooling, TownshipDecision, VisitKind,
};

/// What every step on an existing household's file carries.
#[derive(InputObject, Serialize, Clone, Copy)]
pub struct Step {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// What a registration carries (the household id is its own field: it may be left out).
#[derive(InputObject, Serialize, Clone, Copy)]
pub struct NewFile {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// The common fields of a household input.
pub trait HouseholdInput: Serialize + Send + Sync {
    fn command_id(&self) -> Uuid;
    fn occurred_at(&self) -> Option<DateTime<Utc>>;
    /// The household an existing file's step is about (`None` for a registration).
    fn household_id(&self) -> Option<Uuid>;
}

macro_rules! household_inputs {
    ($($input:ty),+ $(,)?) => {$(
        impl HouseholdInput for $input {
            fn command_id(&self) -> Uuid {
                self.step.command_id
            }
            fn occurred_at(&self) -> Option<DateTime<Utc>> {
                self.step.occurred_at
            }
            fn household_id(&self) -> Option<Uuid> {
                Some(self.step.household_id)
            }
        }
    )+};
}

household_inputs!(
    AddMemberInput,
    UpdateMemberInput,
    RemoveMemberInput,
    FocusGroupInput,
    RecordIncomeInput,
    CorrectIncomeInput,
    AssessLivingConditionsInput,
    RecordVisitInput,
    CorrectVisitFindingsInput,
    ApplyForMonitoringInput,
    VerificationInput,
    DataComparisonInput,
    DemocraticReviewInput,
    StartNoticeInput,
    NoticeObjectionInput,
    ObjectionReverificationInput,
    HouseholdStepInput,
    TownshipReviewInput,
    ApproveInclusionInput,
    ReasonInput,
    OpenGreenChannelInput,
    CreateAssistancePlanInput,
    AddMeasureInput,
    MeasureProgressInput,
    CompleteMeasureInput,
    ApproveRemovalInput,
);

impl HouseholdInput for RegisterHouseholdInput {
    fn command_id(&self) -> Uuid {
        self.file.command_id
    }
    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.file.occurred_at
    }
    fn household_id(&self) -> Option<Uuid> {
        None
    }
}

// ── records ─────────────────────────────────────────────────────────────────────────────

/// 建档 — a household's case file.
#[derive(InputObject, Serialize)]
pub struct RegisterHouseholdInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub file: NewFile,
    /// Leave out to have one assigned (the command id).
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
}

#[derive(InputObject, Serialize)]
pub struct AddMemberInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub member: MemberInput,
    /// BIRTH, MARRIAGE_IN, MOVED_IN or OTHER.
    pub reason: MemberChangeReason,
    pub date: NaiveDate,
}

#[derive(InputObject, Serialize)]
pub struct UpdateMemberInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// `memberId` is required here.
    pub member: MemberInput,
    pub note: String,
}

#[derive(InputObject, Serialize)]
pub struct RemoveMemberInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub member_id: Uuid,
    /// DEATH, MARRIAGE_OUT, MOVED_OUT or OTHER.
    pub reason: MemberChangeReason,
    pub date: NaiveDate,
}

#[derive(InputObject, Serialize)]
pub struct FocusGroupInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub group: FocusGroup,
    pub reason: String,
}

#[derive(InputObject, Serialize)]
pub struct RecordIncomeInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
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
}

#[derive(InputObject, Serialize)]
pub struct CorrectIncomeInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub income_id: Uuid,
    pub wage_fen: i64,
    pub business_fen: i64,
    pub property_fen: i64,
    pub transfer_fen: i64,
    pub reason: String,
}

#[derive(InputObject, Serialize)]
pub struct AssessLivingConditionsInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub food_clothing_secure: bool,
    pub compulsory_education_secure: bool,
    pub basic_medical_secure: bool,
    pub housing_secure: bool,
    pub drinking_water_secure: bool,
    #[graphql(default)]
    pub notes: String,
}

#[derive(InputObject, Serialize)]
pub struct RecordVisitInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub visit_id: Option<Uuid>,
    pub kind: VisitKind,
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
}

#[derive(InputObject, Serialize)]
pub struct CorrectVisitFindingsInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub visit_id: Uuid,
    pub findings: String,
    pub reason: String,
}

// ── identification ──────────────────────────────────────────────────────────────────────

/// 申请 + 承诺授权 — a household's application for monitoring.
#[derive(InputObject, Serialize)]
pub struct ApplyForMonitoringInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// Leave out to have one assigned.
    pub application_id: Option<Uuid>,
    /// 《监测对象申请及承诺授权查询书》 signed by the household: without it nothing may be queried.
    pub signed_authorisation: bool,
    /// When the clue was found (alert raised, visit…); the 15-day deadline counts from it.
    /// Defaults to the application date.
    pub clue_found_on: Option<NaiveDate>,
    /// The alert whose study led to this application, if any.
    pub source_alert: Option<Uuid>,
    /// The household's statement of its difficulty.
    #[graphql(default)]
    pub statement: String,
    /// Hex SHA-256 of the signed application and authorisation (at least one).
    pub attachments: Vec<String>,
}

/// 入户核实 (identification) or 核实 (risk removal): a visit by a team of at least two people.
#[derive(InputObject, Serialize)]
pub struct VerificationInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// The user ids of the verification team (at least two distinct people).
    pub verifier_ids: Vec<Uuid>,
    pub findings: String,
    /// Hex SHA-256 of photos and documents.
    #[graphql(default)]
    pub attachments: Vec<String>,
}

/// 信息比对 — the county's cross-department data comparison.
#[derive(InputObject, Serialize)]
pub struct DataComparisonInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// Whether the household passed (nothing disqualifying found).
    pub passed: bool,
    /// What the comparison found (vehicle, business licence, civil servant…).
    #[graphql(default)]
    pub flags: Vec<String>,
    #[graphql(default)]
    pub notes: String,
}

/// 民主评议 — the village's democratic review, with minutes.
#[derive(InputObject, Serialize)]
pub struct DemocraticReviewInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// 会议记录.
    pub minutes: String,
    /// People present.
    pub attendees: i32,
    pub result: ReviewResult,
    /// Hex SHA-256 of the minutes and sign-in sheet.
    #[graphql(default)]
    pub attachments: Vec<String>,
}

/// 公示 — the start of a village public notice.
#[derive(InputObject, Serialize)]
pub struct StartNoticeInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// First day of the notice (China time).
    pub start: NaiveDate,
    /// Hex SHA-256 of the posted notice (no ID, phone, bank or health details in it).
    #[graphql(default)]
    pub attachments: Vec<String>,
}

/// An objection raised against the open notice.
#[derive(InputObject, Serialize)]
pub struct NoticeObjectionInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// Leave out to have one assigned.
    pub objection_id: Option<Uuid>,
    pub summary: String,
}

/// 异议复核 — the re-verification of one objection.
#[derive(InputObject, Serialize)]
pub struct ObjectionReverificationInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub objection_id: Uuid,
    pub findings: String,
    /// Whether the objection was found to be right.
    pub upheld: bool,
    #[graphql(default)]
    pub attachments: Vec<String>,
}

/// A step that needs nothing but the household (e.g. closing a notice).
#[derive(InputObject, Serialize)]
pub struct HouseholdStepInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
}

/// 乡镇审核 — the township's review.
#[derive(InputObject, Serialize)]
pub struct TownshipReviewInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub decision: TownshipDecision,
    /// 审核意见.
    pub opinion: String,
}

/// 县级审定 — the county's approval of inclusion.
#[derive(InputObject, Serialize)]
pub struct ApproveInclusionInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// 脱贫不稳定户 / 边缘易致贫户 / 突发严重困难户.
    pub category: Category,
    /// At least one.
    pub risk_types: Vec<RiskType>,
    /// Per-capita net income at inclusion, in fen (分) per year.
    pub baseline_per_capita_fen: i64,
    /// 审定意见.
    pub opinion: String,
}

/// A step that needs a reason (rejection, withdrawal, rollback, proposal).
#[derive(InputObject, Serialize)]
pub struct ReasonInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub reason: String,
}

/// 绿色通道 — assistance first for a disaster or accident, the steps back-filled later.
#[derive(InputObject, Serialize)]
pub struct OpenGreenChannelInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// DISASTER or ACCIDENT.
    pub risk_type: RiskType,
    pub reason: String,
}

// ── assistance ──────────────────────────────────────────────────────────────────────────

/// 一户一策 — an assistance plan.
#[derive(InputObject, Serialize)]
pub struct CreateAssistancePlanInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// Leave out to have one assigned.
    pub plan_id: Option<Uuid>,
    pub summary: String,
    /// 帮扶责任人 — the user responsible for helping the household.
    pub helper_user_id: Option<Uuid>,
}

/// 帮扶措施 — one measure.
#[derive(InputObject, Serialize)]
pub struct AddMeasureInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// Leave out to have one assigned.
    pub measure_id: Option<Uuid>,
    /// 产业, 就业, 公益岗位, 小额信贷, 雨露计划, 医疗, 住房…
    pub measure_type: MeasureType,
    /// The responsible department (责任部门), as written.
    pub department: String,
    pub description: String,
    /// Money involved, in fen (分); 0 when none.
    #[graphql(default)]
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The risk types this measure addresses; every risk type of the episode needs at least
    /// one measure before removal.
    pub risk_types: Vec<RiskType>,
}

/// Progress of a measure.
#[derive(InputObject, Serialize)]
pub struct MeasureProgressInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub measure_id: Uuid,
    pub progress: String,
    /// 0 to 100.
    pub percent: i32,
}

/// The completion of a measure, with its outcome.
#[derive(InputObject, Serialize)]
pub struct CompleteMeasureInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    pub measure_id: Uuid,
    /// 帮扶成效.
    pub outcome: String,
    pub completed_on: NaiveDate,
}

// ── removal ─────────────────────────────────────────────────────────────────────────────

/// 县级审定 — the county's approval of a removal.
#[derive(InputObject, Serialize)]
pub struct ApproveRemovalInput {
    #[graphql(flatten)]
    #[serde(flatten)]
    pub step: Step,
    /// 审定意见.
    pub opinion: String,
}

// ── shared shapes ───────────────────────────────────────────────────────────────────────

/// A household member as captured on a form. The ID number is validated (GB 11643 check
/// digit), then sealed: only its masked form, a keyed hash and ciphertext are stored.
#[derive(InputObject, Serialize, Clone)]
pub struct MemberInput {
    /// Leave out for a new member.
    pub member_id: Option<Uuid>,
    pub name: String,
    /// 18-character resident ID number (身份证号).
    pub id_number: String,
    pub relation: Relation,
    pub health: Health,
    /// 1–4 when health is DISABLED.
    pub disability_level: Option<i32>,
    pub labour: LabourCapacity,
    pub schooling: Schooling,
    pub employment: Employment,
    pub safety_net: SafetyNet,
    #[graphql(default)]
    pub medical_insurance: bool,
    #[graphql(default)]
    pub pension_insurance: bool,
    pub phone: Option<String>,
    /// Lives in and shares the household budget (counts for per-capita income).
    #[graphql(default = true)]
    pub resident: bool,
}

impl MemberInput {
    /// `field` prefixes error paths (e.g. `head` or `member`).
    pub fn to_profile(
        &self,
        field: &str,
        pii: &PiiKeys,
        today: NaiveDate,
    ) -> Result<MemberProfile, ApiError> {
        let f = |name: &str| format!("{field}.{name}");
        let id = IdNumber::parse_as_of(self.id_number.trim(), today)
            .map_err(|e| ApiError::bad_input(f("idNumber"), e.to_string()))?;
        let disability_level = match self.disability_level {
            None => None,
            Some(l) => Some(
                u8::try_from(l)
                    .map_err(|_| ApiError::bad_input(f("disabilityLevel"), "a level is 1 to 4"))?,
            ),
        };
        Ok(MemberProfile {
            member_id: self.member_id.unwrap_or_else(Uuid::now_v7),
            name: self.name.trim().to_owned(),
            birth_date: id.birth_date(),
            sex: id.sex(),
            id_number: pii.seal_id(&id),
            relation: self.relation.into(),
            health: self.health.into(),
            disability_level,
            labour: self.labour.into(),
            schooling: self.schooling.into(),
            employment: self.employment.into(),
            safety_net: self.safety_net.into(),
            insurance: Insurance {
                medical: self.medical_insurance,
                pension: self.pension_insurance,
            },
            phone: match &self.phone {
                Some(p) if !p.trim().is_empty() => Some(pii.seal_phone(p).map_err(|_| {
                    ApiError::bad_input(f("phone"), "a phone number has 7 to 15 digits")
                })?),
                _ => None,
            },
            resident: self.resident,
        })
    }
}

/// Parses attachment hashes (hex SHA-256 of files kept elsewhere).
pub fn attachments(field: &str, values: &[String]) -> Result<Vec<AttachmentHash>, ApiError> {
    values
        .iter()
        .map(|v| AttachmentHash::parse(v).map_err(|e| ApiError::bad_input(field, e.to_string())))
        .collect()
}

/// A non-negative count input as the domain's `u32`.
pub fn count(field: &str, value: i32) -> Result<u32, ApiError> {
    u32::try_from(value).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

/// Converts a list of GraphQL codes into the domain's.
pub fn codes<G: Copy + Into<D>, D>(values: &[G]) -> Vec<D> {
    values.iter().map(|v| (*v).into()).collect()
}

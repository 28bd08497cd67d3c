//! Codes as GraphQL enums: every closed list of the domain (`vocab!`) mirrored once here, so
//! clients get validation, autocomplete and generated types, while the domain stays free of
//! async-graphql.
//!
//! Each mirror converts both ways with exhaustive matches: a value added to a domain list and
//! not here (or the reverse) does not compile. A test checks that every GraphQL value is the
//! domain's code. Outputs carry the code with its Chinese label (`{ code labelZh }`, the code
//! typed as the enum); `vocabulary` lists every value of every list.

use async_graphql::Object;
use dixian_domain::vocab::Code;

/// A domain code as its GraphQL mirror, with the label a front end shows.
pub trait Labelled: Code {
    type Label;
    fn label(&self) -> Self::Label;
}

/// Parses a code stored by a read model, or fails as an internal error: read models only ever
/// store codes the domain wrote.
pub fn stored<T: Labelled>(code: &str) -> Result<T::Label, crate::ApiError> {
    T::from_code(code)
        .map(|v| v.label())
        .ok_or_else(|| crate::ApiError::internal(format!("unknown stored code {code:?}")))
}

macro_rules! codes {
    ($(
        $(#[$meta:meta])*
        $name:ident / $label:ident = $field:ident from $domain:path { $($variant:ident),+ $(,)? }
    )+) => {
        $(
            $(#[$meta])*
            #[derive(
                async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash,
                serde::Serialize, serde::Deserialize,
            )]
            #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
            pub enum $name {
                $($variant),+
            }

            impl From<$name> for $domain {
                fn from(v: $name) -> Self {
                    match v {
                        $($name::$variant => <$domain>::$variant),+
                    }
                }
            }

            impl From<$domain> for $name {
                fn from(v: $domain) -> Self {
                    match v {
                        $(<$domain>::$variant => $name::$variant),+
                    }
                }
            }

            $(#[$meta])*
            #[derive(async_graphql::SimpleObject, Debug, Clone, PartialEq, Eq)]
            pub struct $label {
                pub code: $name,
                pub label_zh: String,
            }

            impl Labelled for $domain {
                type Label = $label;
                fn label(&self) -> $label {
                    $label {
                        code: (*self).into(),
                        label_zh: Code::label_zh(self).to_owned(),
                    }
                }
            }
        )+

        /// Every code list with its Chinese labels (for pickers and legends).
        #[derive(Default)]
        pub struct Vocabulary;

        #[Object]
        impl Vocabulary {
            $(
                async fn $field(&self) -> Vec<$label> {
                    <$domain as Code>::ALL.iter().map(Labelled::label).collect()
                }
            )+
        }

        /// (type, GraphQL value, domain code) for every value whose names differ.
        #[cfg(test)]
        fn mismatches() -> Vec<(&'static str, String, &'static str)> {
            use async_graphql::resolver_utils::EnumType;
            let mut out = Vec::new();
            $(
                for v in <$domain as Code>::ALL {
                    let mirror: $name = (*v).into();
                    let item = <$name as EnumType>::items()
                        .iter()
                        .find(|i| i.value == mirror)
                        .map(|i| i.name.to_owned())
                        .unwrap_or_default();
                    let serde = serde_json::to_value(mirror).unwrap_or_default();
                    if item != Code::code(v) || serde != Code::code(v) {
                        out.push((stringify!($name), item, Code::code(v)));
                    }
                }
            )+
            out
        }
    };
}

codes! {
    /// 角色
    Role / RoleLabel = roles from dixian_domain::Role {
        GridWorker, VillageSecretary, Cadre, TownshipOfficer, CountyOfficer, Auditor, SpotChecker,
    }
    /// 性别
    Sex / SexLabel = sexes from dixian_domain::vocab::Sex { Male, Female }
    /// 与户主关系
    Relation / RelationLabel = relations from dixian_domain::vocab::Relation {
        Head, Spouse, Child, ChildInLaw, Grandchild, Parent, ParentInLaw, Grandparent, Sibling,
        Other,
    }
    /// 健康状况
    Health / HealthLabel = health from dixian_domain::vocab::Health {
        Healthy, Chronic, SeriousIllness, Disabled,
    }
    /// 劳动能力
    LabourCapacity / LabourCapacityLabel = labour_capacities
        from dixian_domain::vocab::LabourCapacity { Normal, Skilled, Weak, Lost, None }
    /// 在校生状况
    Schooling / SchoolingLabel = schooling_stages from dixian_domain::vocab::Schooling {
        None, Preschool, Primary, Junior, Senior, Vocational, Higher,
    }
    /// 就业状况
    Employment / EmploymentLabel = employment from dixian_domain::vocab::Employment {
        NotApplicable, Farming, LocalWork, MigrantWork, SelfEmployed, PublicWelfareJob,
        Unemployed,
    }
    /// 低保/特困
    SafetyNet / SafetyNetLabel = safety_nets from dixian_domain::vocab::SafetyNet {
        None, Dibao, Tekun,
    }
    /// 三类群体
    FocusGroup / FocusGroupLabel = focus_groups from dixian_domain::vocab::FocusGroup {
        KnownDifficulty, SuddenDifficulty, ElderlyOrChild,
    }
    /// 监测对象类别
    Category / CategoryLabel = categories from dixian_domain::vocab::Category {
        UnstableExPoor, Marginal, SuddenSevere,
    }
    /// 风险类型
    RiskType / RiskTypeLabel = risk_types from dixian_domain::vocab::RiskType {
        Illness, Disability, Schooling, Disaster, Accident, FailedBusiness, UnstableWork,
        LackOfLabour, Housing, Water, Other,
    }
    /// 帮扶措施类型
    MeasureType / MeasureTypeLabel = measure_types from dixian_domain::vocab::MeasureType {
        Industry, Employment, PublicWelfareJob, Finance, Education, Medical, Housing, Water,
        SafetyNet, Other,
    }
    /// 人口变动原因
    MemberChangeReason / MemberChangeReasonLabel = member_change_reasons
        from dixian_domain::vocab::MemberChangeReason {
        Birth, MarriageIn, MarriageOut, Death, MovedOut, MovedIn, Other,
    }
    /// 走访类型
    VisitKind / VisitKindLabel = visit_kinds from dixian_domain::vocab::VisitKind {
        RoutineGridVisit, CadreEvenMonthVisit, AlertVerification, RemovalVerification,
    }
    /// 两不愁三保障及饮水安全
    LivingCondition / LivingConditionLabel = living_conditions
        from dixian_domain::vocab::LivingCondition {
        FoodAndClothing, CompulsoryEducation, BasicMedical, Housing, DrinkingWater,
    }
    /// 民主评议结果
    ReviewResult / ReviewResultLabel = review_results from dixian_domain::vocab::ReviewResult {
        Approve, Reject,
    }
    /// 乡镇审核意见
    TownshipDecision / TownshipDecisionLabel = township_decisions
        from dixian_domain::vocab::TownshipDecision { Approve, Return }
    /// 研判结论
    StudyDecision / StudyDecisionLabel = study_decisions from dixian_domain::vocab::StudyDecision {
        StartIdentification, AlreadyMonitoredAdjustMeasures, NoRiskDismissed,
    }
    /// 监测状态
    MonitoringStatus / MonitoringStatusLabel = monitoring_statuses
        from dixian_domain::household::MonitoringStatus {
        NotMonitored, Identifying, Monitored, RiskRemoved,
    }
    /// 识别认定步骤
    IdentificationStage / IdentificationStageLabel = identification_stages
        from dixian_domain::household::IdentificationStage {
        Applied, HomeVerified, DataCompared, ReviewApproved, ReviewRejected, NoticeOpen,
        NoticeClosed, TownshipApproved,
    }
    /// 风险消除步骤
    RemovalStage / RemovalStageLabel = removal_stages
        from dixian_domain::household::RemovalStage {
        Proposed, Verified, ReviewApproved, ReviewRejected, NoticeOpen, NoticeClosed,
        TownshipApproved,
    }
    /// 预警来源
    AlertSource / AlertSourceLabel = alert_sources from dixian_domain::alert::AlertSource {
        DepartmentData, GridScreening, SelfReport, CadreVisit, Complaint,
    }
    /// 推送部门
    Department / DepartmentLabel = departments from dixian_domain::alert::Department {
        MedicalInsurance, CivilAffairs, Education, Emergency, DisabledFederation, Housing,
        HumanResources, Other,
    }
    /// 预警等级
    Severity / SeverityLabel = severities from dixian_domain::alert::Severity {
        Low, Medium, High,
    }
    /// 预警轮次
    AlertRound / AlertRoundLabel = alert_rounds from dixian_domain::alert::AlertRound {
        FirstRound, SecondRound,
    }
    /// 预警状态
    AlertStatus / AlertStatusLabel = alert_statuses from dixian_domain::alert::AlertStatus {
        AwaitingFirstRound, AwaitingStudy, Studied, Closed,
    }
    /// 包建干部类型 — what a cadre is assigned to
    CadreScope / CadreScopeLabel = cadre_scopes from dixian_domain::user::CadreScope {
        Household, Village, Area,
    }
    /// 行政区划层级
    RegionLevel / RegionLevelLabel = region_levels from dixian_domain::RegionLevel {
        Province, City, County, Township, Village,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_graphql_enum_value_is_the_domain_code() {
        assert_eq!(mismatches(), vec![]);
    }

    #[test]
    fn a_label_carries_the_code_and_the_chinese_label() {
        let l = dixian_domain::vocab::RiskType::UnstableWork.label();
        assert_eq!(l.code, RiskType::UnstableWork);
        assert_eq!(l.label_zh, "因务工就业不稳");
    }
}

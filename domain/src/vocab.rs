//! The shared vocabulary: every closed list a form or a dashboard shows, with its code (what
//! the API and the log carry) and its Chinese label (what people read).

use crate::macros::vocab;

/// A closed list of codes with Chinese labels, as every `vocab!` enum is: what front ends show
/// in pickers and legends, and what the API turns into GraphQL enums.
pub trait Code: Copy + Eq + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The stable machine code carried by the API and the event log.
    fn code(&self) -> &'static str;
    /// The Chinese label a front end shows.
    fn label_zh(&self) -> &'static str;
    /// The value with this code, if any.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
}

vocab! {
    /// 性别
    pub enum Sex {
        Male = "MALE" => "男",
        Female = "FEMALE" => "女",
    }
}

vocab! {
    /// 与户主关系 — relation to the head of household.
    pub enum Relation {
        Head = "HEAD" => "户主",
        Spouse = "SPOUSE" => "配偶",
        Child = "CHILD" => "子女",
        ChildInLaw = "CHILD_IN_LAW" => "儿媳/女婿",
        Grandchild = "GRANDCHILD" => "孙子女/外孙子女",
        Parent = "PARENT" => "父母",
        ParentInLaw = "PARENT_IN_LAW" => "公婆/岳父母",
        Grandparent = "GRANDPARENT" => "祖父母/外祖父母",
        Sibling = "SIBLING" => "兄弟姐妹",
        Other = "OTHER" => "其他",
    }
}

vocab! {
    /// 健康状况 — a member with `Disabled` also carries a disability level 1–4.
    pub enum Health {
        Healthy = "HEALTHY" => "健康",
        Chronic = "CHRONIC" => "长期慢性病",
        SeriousIllness = "SERIOUS_ILLNESS" => "大病",
        Disabled = "DISABLED" => "残疾",
    }
}

vocab! {
    /// 劳动能力 — labour capacity. A household whose resident members are all `Lost` or
    /// `None` is not removed from monitoring (it stays under 兜底 safety-net support).
    pub enum LabourCapacity {
        Normal = "NORMAL" => "普通劳动力",
        Skilled = "SKILLED" => "技能劳动力",
        Weak = "WEAK" => "弱劳动力或半劳动力",
        Lost = "LOST" => "丧失劳动力",
        None = "NONE" => "无劳动力",
    }
}

impl LabourCapacity {
    /// True for capacities that can earn a living (开发式帮扶 applies).
    pub fn can_work(&self) -> bool {
        !matches!(self, Self::Lost | Self::None)
    }
}

vocab! {
    /// 在校生状况 — schooling stage.
    pub enum Schooling {
        None = "NONE" => "非在校生",
        Preschool = "PRESCHOOL" => "学前教育",
        Primary = "PRIMARY" => "小学",
        Junior = "JUNIOR" => "初中",
        Senior = "SENIOR" => "高中",
        Vocational = "VOCATIONAL" => "中高职",
        Higher = "HIGHER" => "高等教育",
    }
}

vocab! {
    /// 就业状况 — how a member earns.
    pub enum Employment {
        NotApplicable = "NOT_APPLICABLE" => "不适用",
        Farming = "FARMING" => "务农",
        LocalWork = "LOCAL_WORK" => "县内务工",
        MigrantWork = "MIGRANT_WORK" => "县外务工",
        SelfEmployed = "SELF_EMPLOYED" => "自主创业/个体经营",
        PublicWelfareJob = "PUBLIC_WELFARE_JOB" => "公益岗位",
        Unemployed = "UNEMPLOYED" => "失业/待业",
    }
}

vocab! {
    /// 低保/特困 — social-assistance status.
    pub enum SafetyNet {
        None = "NONE" => "无",
        Dibao = "DIBAO" => "低保",
        Tekun = "TEKUN" => "特困",
    }
}

vocab! {
    /// 三类群体 — the seed's three focus groups, tags on a household.
    pub enum FocusGroup {
        KnownDifficulty = "KNOWN_DIFFICULTY" => "已知困难群体",
        SuddenDifficulty = "SUDDEN_DIFFICULTY" => "突发困难群体",
        ElderlyOrChild = "ELDERLY_OR_CHILD" => "一老一小",
    }
}

vocab! {
    /// 监测对象类别 — the official category of a monitored household.
    pub enum Category {
        /// Requires the household to be a former poor household (脱贫户).
        UnstableExPoor = "UNSTABLE_EX_POOR" => "脱贫不稳定户",
        /// An ordinary household (一般农户), never a 脱贫户.
        Marginal = "MARGINAL" => "边缘易致贫户",
        /// Either kind of household; income may be above the line.
        SuddenSevere = "SUDDEN_SEVERE" => "突发严重困难户",
    }
}

vocab! {
    /// 风险类型 — risks of (re)falling into poverty; a household may carry several.
    pub enum RiskType {
        Illness = "ILLNESS" => "因病",
        Disability = "DISABILITY" => "因残",
        Schooling = "SCHOOLING" => "因学",
        Disaster = "DISASTER" => "因灾",
        Accident = "ACCIDENT" => "因意外事故",
        FailedBusiness = "FAILED_BUSINESS" => "因产业项目失败",
        UnstableWork = "UNSTABLE_WORK" => "因务工就业不稳",
        LackOfLabour = "LACK_OF_LABOUR" => "缺劳动力",
        Housing = "HOUSING" => "住房安全",
        Water = "WATER" => "饮水安全",
        Other = "OTHER" => "其他",
    }
}

impl RiskType {
    /// Risks for which the green channel (绿色通道, 先帮扶后认定) may open.
    pub fn allows_green_channel(&self) -> bool {
        matches!(self, Self::Disaster | Self::Accident)
    }
}

vocab! {
    /// 帮扶措施类型 — assistance measure types.
    pub enum MeasureType {
        Industry = "INDUSTRY" => "产业帮扶",
        Employment = "EMPLOYMENT" => "就业帮扶",
        PublicWelfareJob = "PUBLIC_WELFARE_JOB" => "公益岗位",
        Finance = "FINANCE" => "金融帮扶/小额信贷",
        Education = "EDUCATION" => "教育帮扶/雨露计划",
        Medical = "MEDICAL" => "健康/医疗保障",
        Housing = "HOUSING" => "住房安全保障",
        Water = "WATER" => "饮水安全保障",
        SafetyNet = "SAFETY_NET" => "低保/特困/临时救助兜底",
        Other = "OTHER" => "其他",
    }
}

vocab! {
    /// 人口变动原因 — why a member joined or left.
    pub enum MemberChangeReason {
        Birth = "BIRTH" => "出生",
        MarriageIn = "MARRIAGE_IN" => "婚入",
        MarriageOut = "MARRIAGE_OUT" => "婚出",
        Death = "DEATH" => "死亡",
        MovedOut = "MOVED_OUT" => "迁出",
        MovedIn = "MOVED_IN" => "迁入",
        Other = "OTHER" => "其他",
    }
}

impl MemberChangeReason {
    pub fn can_add(&self) -> bool {
        matches!(
            self,
            Self::Birth | Self::MarriageIn | Self::MovedIn | Self::Other
        )
    }
    pub fn can_remove(&self) -> bool {
        matches!(
            self,
            Self::Death | Self::MarriageOut | Self::MovedOut | Self::Other
        )
    }
}

vocab! {
    /// 走访类型 — kinds of home visit.
    pub enum VisitKind {
        RoutineGridVisit = "ROUTINE_GRID_VISIT" => "网格员走访",
        /// Only in even months (2, 4, 6, 8, 10, 12): the cadres' 双月走访 round.
        CadreEvenMonthVisit = "CADRE_EVEN_MONTH_VISIT" => "包建干部双月走访",
        AlertVerification = "ALERT_VERIFICATION" => "预警核实",
        RemovalVerification = "REMOVAL_VERIFICATION" => "风险消除核实",
    }
}

vocab! {
    /// 两不愁三保障及饮水安全 — the living conditions an assessment checks.
    pub enum LivingCondition {
        FoodAndClothing = "FOOD_AND_CLOTHING" => "不愁吃、不愁穿",
        CompulsoryEducation = "COMPULSORY_EDUCATION" => "义务教育有保障",
        BasicMedical = "BASIC_MEDICAL" => "基本医疗有保障",
        Housing = "HOUSING" => "住房安全有保障",
        DrinkingWater = "DRINKING_WATER" => "饮水安全有保障",
    }
}

vocab! {
    /// 民主评议结果 — the outcome of a democratic review.
    pub enum ReviewResult {
        Approve = "APPROVE" => "评议通过",
        Reject = "REJECT" => "评议未通过",
    }
}

vocab! {
    /// 乡镇审核意见 — the township's decision on a village's case.
    pub enum TownshipDecision {
        Approve = "APPROVE" => "审核通过",
        Return = "RETURN" => "退回重新核实",
    }
}

vocab! {
    /// 研判结论 — the township's second-round study decision on an alert.
    pub enum StudyDecision {
        /// Opens the identification procedure for the household.
        StartIdentification = "START_IDENTIFICATION" => "启动识别纳入程序",
        AlreadyMonitoredAdjustMeasures = "ALREADY_MONITORED_ADJUST_MEASURES" => "已是监测对象，调整帮扶措施",
        NoRiskDismissed = "NO_RISK_DISMISSED" => "无风险，予以排除",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_serialised_form_and_round_trip() {
        for risk in RiskType::ALL {
            let json = serde_json::to_string(risk).unwrap();
            assert_eq!(json, format!("\"{}\"", risk.code()));
            assert_eq!(RiskType::from_code(risk.code()), Some(*risk));
        }
        assert_eq!(RiskType::UnstableWork.code(), "UNSTABLE_WORK");
        assert_eq!(RiskType::UnstableWork.label_zh(), "因务工就业不稳");
        assert_eq!(Category::Marginal.label_zh(), "边缘易致贫户");
    }
}

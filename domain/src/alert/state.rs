use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::macros::vocab;
use crate::region::RegionCode;
use crate::vocab::StudyDecision;

use super::dedup::OpenAlertSummary;
use super::event::AlertEvent;
use super::steps::PlannedMeasure;

vocab! {
    /// 预警来源
    pub enum AlertSource {
        DepartmentData = "DEPARTMENT_DATA" => "部门数据",
        GridScreening = "GRID_SCREENING" => "网格排查",
        SelfReport = "SELF_REPORT" => "农户自主申报",
        CadreVisit = "CADRE_VISIT" => "干部走访",
        Complaint = "COMPLAINT" => "信访投诉",
    }
}

vocab! {
    /// 推送部门 — the department whose data raised the alert.
    pub enum Department {
        MedicalInsurance = "MEDICAL_INSURANCE" => "医保",
        CivilAffairs = "CIVIL_AFFAIRS" => "民政",
        Education = "EDUCATION" => "教育",
        Emergency = "EMERGENCY" => "应急管理",
        DisabledFederation = "DISABLED_FEDERATION" => "残联",
        Housing = "HOUSING" => "住建",
        HumanResources = "HUMAN_RESOURCES" => "人社",
        Other = "OTHER" => "其他部门",
    }
}

vocab! {
    /// 预警等级
    pub enum Severity {
        Low = "LOW" => "低",
        Medium = "MEDIUM" => "中",
        High = "HIGH" => "高",
    }
}

vocab! {
    /// The two rounds of the closed loop.
    pub enum AlertRound {
        /// 首轮 — village investigation and feedback.
        FirstRound = "FIRST_ROUND" => "村级首轮核实反馈",
        /// 二轮 — township study and follow-up (督导问效).
        SecondRound = "SECOND_ROUND" => "镇街二轮研判",
    }
}

vocab! {
    /// 预警状态
    pub enum AlertStatus {
        AwaitingFirstRound = "AWAITING_FIRST_ROUND" => "待村级反馈",
        AwaitingStudy = "AWAITING_STUDY" => "待镇街研判",
        Studied = "STUDIED" => "已研判待办结",
        Closed = "CLOSED" => "已办结",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RaisedAlert {
    pub alert_id: Uuid,
    pub source: AlertSource,
    pub department: Option<Department>,
    pub trigger_code: String,
    pub trigger_text: String,
    pub severity: Severity,
    pub household_id: Option<Uuid>,
    pub village: RegionCode,
    pub raised_at: DateTime<Utc>,
    pub first_round_due: DateTime<Utc>,
    pub second_round_due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FirstRound {
    pub findings: String,
    pub risk_confirmed: bool,
    pub visit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Study {
    pub decision: StudyDecision,
    pub measure: Option<PlannedMeasure>,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Escalation {
    pub round: AlertRound,
    pub level: u32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlertState {
    /// `None` until raised.
    pub raised: Option<RaisedAlert>,
    pub first_round: Option<FirstRound>,
    pub study: Option<Study>,
    pub escalations: Vec<Escalation>,
    /// Times the same warning arrived again while open.
    pub duplicates: u32,
    pub closed_at: Option<DateTime<Utc>>,
}

impl AlertState {
    pub fn status(&self) -> Option<AlertStatus> {
        self.raised.as_ref()?;
        Some(if self.closed_at.is_some() {
            AlertStatus::Closed
        } else if self.study.is_some() {
            AlertStatus::Studied
        } else if self.first_round.is_some() {
            AlertStatus::AwaitingStudy
        } else {
            AlertStatus::AwaitingFirstRound
        })
    }

    pub fn is_open(&self) -> bool {
        self.raised.is_some() && self.closed_at.is_none()
    }

    /// The round still owed and its deadline, if any.
    pub fn pending(&self) -> Option<(AlertRound, DateTime<Utc>)> {
        let raised = self.raised.as_ref()?;
        if self.closed_at.is_some() || self.study.is_some() {
            None
        } else if self.first_round.is_none() {
            Some((AlertRound::FirstRound, raised.first_round_due))
        } else {
            Some((AlertRound::SecondRound, raised.second_round_due))
        }
    }

    /// The deadline of the round still owed; `None` once studied (a disposition exists).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.pending().map(|(_, due)| due)
    }

    pub fn is_overdue(&self, as_of: DateTime<Utc>) -> bool {
        self.due_at().is_some_and(|due| as_of > due)
    }

    /// The round overdue at `as_of`, if any.
    pub fn overdue_round(&self, as_of: DateTime<Utc>) -> Option<AlertRound> {
        self.pending()
            .filter(|(_, due)| as_of > *due)
            .map(|(round, _)| round)
    }

    /// 处置结论 — what the township decided; every alert must end with one.
    pub fn disposition(&self) -> Option<StudyDecision> {
        self.study.as_ref().map(|s| s.decision)
    }

    /// What [`dedup`](super::dedup()) needs to know about an open alert.
    pub fn summary(&self) -> Option<OpenAlertSummary> {
        let raised = self.raised.as_ref().filter(|_| self.is_open())?;
        Some(OpenAlertSummary {
            alert_id: raised.alert_id,
            household_id: raised.household_id,
            trigger_code: raised.trigger_code.clone(),
            raised_at: raised.raised_at,
        })
    }

    pub fn evolve(mut self, event: &AlertEvent) -> Self {
        match event {
            AlertEvent::AlertRaised {
                alert_id,
                source,
                department,
                trigger_code,
                trigger_text,
                severity,
                household_id,
                village,
                first_round_due,
                second_round_due,
                at,
                ..
            } => {
                self.raised = Some(RaisedAlert {
                    alert_id: *alert_id,
                    source: *source,
                    department: *department,
                    trigger_code: trigger_code.clone(),
                    trigger_text: trigger_text.clone(),
                    severity: *severity,
                    household_id: *household_id,
                    village: village.clone(),
                    raised_at: *at,
                    first_round_due: *first_round_due,
                    second_round_due: *second_round_due,
                });
            }
            AlertEvent::DuplicateReported { .. } => {
                self.duplicates = self.duplicates.saturating_add(1);
            }
            AlertEvent::FirstRoundFeedbackRecorded {
                findings,
                risk_confirmed,
                visit_id,
                late,
                at,
                ..
            } => {
                self.first_round = Some(FirstRound {
                    findings: findings.clone(),
                    risk_confirmed: *risk_confirmed,
                    visit_id: *visit_id,
                    at: *at,
                    late: *late,
                });
            }
            AlertEvent::SecondRoundStudyRecorded {
                decision,
                measure,
                reason,
                late,
                at,
                ..
            } => {
                self.study = Some(Study {
                    decision: *decision,
                    measure: measure.clone(),
                    reason: reason.clone(),
                    at: *at,
                    late: *late,
                });
            }
            AlertEvent::AlertEscalated {
                round, level, at, ..
            } => self.escalations.push(Escalation {
                round: *round,
                level: *level,
                at: *at,
            }),
            AlertEvent::AlertClosed { at, .. } => self.closed_at = Some(*at),
        }
        self
    }
}

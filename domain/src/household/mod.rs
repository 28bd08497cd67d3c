//! The household case file (stream `household-<uuid>`, 一户一档).
//!
//! Registration and members, focus-group tags, income and living-condition records, visits,
//! the identification procedure (识别纳入) with its green channel (绿色通道), the assistance
//! plan and measures (一户一策), risk removal (风险消除, 宽进严出), rollback (回退) and re-entry
//! as a new episode, and corrections.
//!
//! How the outside world reaches `decide`:
//! - **Policy**: every command carries the province's
//!   [`PolicyBook`](crate::policy::PolicyBook) in its envelope; a step applies the rules in
//!   force on the command's own business date (China time), so a caller cannot judge a step by
//!   the wrong year's rules.
//! - **Open alerts**: the alert reactor records [`LinkAlert`] when an alert about the household
//!   is raised and [`CloseLinkedAlert`] when it is closed; the household state therefore knows
//!   its open alerts, and removal eligibility needs nothing from outside but the policy.
//! - **Corrections** are new events naming the record they correct (income record id, visit
//!   id) and a reason; the original event stays.

mod command;
mod decide;
mod eligibility;
mod error;
mod event;
mod state;
mod steps;
mod values;

pub use command::HouseholdCommand;
pub use decide::{Household, allowed_roles};
pub use eligibility::{
    Eligibility, IneligibilityReason, removal_eligibility, removal_eligibility_under,
};
pub use error::{HouseholdError, Record};
pub use event::HouseholdEvent;
pub use state::{
    Assessment, AssistancePlan, Episode, FocusTag, FormerMember, GreenChannel, HouseholdState,
    Identification, IdentificationStage, IncomeRecord, Measure, MonitoringStatus, Notice,
    Objection, Registration, RemovalProcedure, RemovalStage, VillageSteps, Visit,
};
pub use steps::*;
pub use values::{IncomeComponents, Insurance, LivingConditions, MemberProfile, VisitChecklist};

//! The steps of a household's file, one struct per command with its roles and rules beside it.

mod assistance;
mod identification;
mod procedure;
mod records;
mod removal;

pub use assistance::{AddMeasure, CompleteMeasure, CreateAssistancePlan, RecordMeasureProgress};
pub use identification::{
    ApplyForMonitoring, ApproveInclusion, OpenGreenChannel, RecordDataComparison, RejectInclusion,
};
pub use procedure::{
    CloseNotice, Inclusion, RecordDemocraticReview, RecordNoticeObjection,
    RecordObjectionReverification, RecordTownshipReview, RecordVerification, Removal,
    StartPublicNotice, Track,
};
pub use records::{
    AddMember, AssessLivingConditions, CloseLinkedAlert, CorrectIncome, CorrectVisitFindings,
    LinkAlert, RecordIncome, RecordVisit, RegisterHousehold, RemoveMember, TagFocusGroup,
    UntagFocusGroup, UpdateMember,
};
pub use removal::{ApproveRemoval, ProposeRemoval, RollbackRemoval, WithdrawRemoval};

use crate::actor::Role;
use crate::command::Ctx;

use super::eligibility::{Eligibility, removal_eligibility_under};
use super::{HouseholdError, HouseholdEvent, HouseholdState};

type Decision = Result<HouseholdEvent, HouseholdError>;

impl Ctx<'_, HouseholdState> {
    /// Removal eligibility on the command's business date, under its policy book.
    pub fn eligibility(&self) -> Eligibility {
        removal_eligibility_under(self.state, self.policy, self.today)
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

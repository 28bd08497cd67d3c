//! A village, the township and county above it, and one user of each role.

use dixian_domain::{Actor, RegionCode, Role};
use uuid::Uuid;

/// 齐都镇某村: the village of the stories.
pub const VILLAGE: &str = "370305101201";
pub const TOWNSHIP: &str = "370305101";
pub const COUNTY: &str = "370305";

pub fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("a region code")
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A user of each role; the front line sits in the village, officers above it. User ids are
/// 101 (grid worker) to 107 (spot checker).
pub fn actor(role: Role) -> Actor {
    let (user, jurisdiction) = match role {
        Role::GridWorker => (101, VILLAGE),
        Role::VillageSecretary => (102, VILLAGE),
        Role::Cadre => (103, VILLAGE),
        Role::TownshipOfficer => (104, TOWNSHIP),
        Role::CountyOfficer => (105, COUNTY),
        Role::Auditor => (106, COUNTY),
        Role::SpotChecker => (107, COUNTY),
    };
    Actor::new(id(user), role, code(jurisdiction))
}

pub fn grid_worker() -> Actor {
    actor(Role::GridWorker)
}
pub fn secretary() -> Actor {
    actor(Role::VillageSecretary)
}
pub fn cadre() -> Actor {
    actor(Role::Cadre)
}
pub fn township() -> Actor {
    actor(Role::TownshipOfficer)
}
pub fn county() -> Actor {
    actor(Role::CountyOfficer)
}

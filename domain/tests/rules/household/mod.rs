//! Household rules, on the stories of `dixian_testkit::household`.

mod assistance;
mod identification;
mod properties;
mod records;
mod removal;

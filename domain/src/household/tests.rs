//! Household rules as given/when/then sentences, and the invariants as properties.

mod assistance;
mod fixtures;
mod identification;
mod properties;
mod records;
mod removal;

//! The domain's rules as given/when/then sentences, and its invariants as properties.

mod alert;
mod household;
mod policy;
mod user;

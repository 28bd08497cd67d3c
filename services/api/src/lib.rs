//! Dixian's GraphQL API: the schema, who is calling, and the error codes clients see.
//!
//! Resolvers are thin: check the caller, turn input into a command (run by `dixian-commands`)
//! or a read (from `dixian-projections` queries and the fold cache), and shape the answer. This
//! crate owns no storage and no SQL and no HTTP; the server mounts the schema on axum.

#![forbid(unsafe_code)]

pub mod alert;
pub mod auth;
pub mod error;
pub mod fold_cache;
pub mod household;
pub mod ledger;
pub mod lists;
pub mod parse_cache;
pub mod pii;
pub mod policy;
pub mod reactions;
pub mod region;
pub mod schema;
pub mod spot_check;
pub mod user;
pub mod vocab;

pub use auth::{Auth, Caller};
pub use error::ApiError;
pub use schema::{ApiContext, ApiSchema, Limits, build_schema};

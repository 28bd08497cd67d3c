//! End-to-end tests: the real server (router, services, projections) on a real port, against a
//! real PostgreSQL (a fresh database per test), driven by GraphQL documents over HTTP.

mod support;

mod alerts;
mod burst;
mod ledgers;
mod lifecycle;
mod reads;
mod schema;
mod stops;

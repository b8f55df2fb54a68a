//! What the integration tests of every Tongyi app share, so that each app's harness keeps only
//! what is its own (configs, fixtures, seed data):
//!
//! - [`serve`]: an axum router (or an app with its own serve function) on 127.0.0.1, port 0,
//!   stopped gracefully when the test drops its handle;
//! - [`services`]: where PostgreSQL and Redis are (`TONGYI_TEST_PG`, `TONGYI_TEST_REDIS`), a
//!   fresh Redis key prefix per test;
//! - [`postgres`]: a fresh PostgreSQL database per test, named [`postgres::DB_PREFIX`]`…`,
//!   dropped with the test (`.ci/run` drops what an interrupted run left behind);
//! - [`relay`]: a TCP relay in front of a service, cut and restored to play an outage;
//! - [`temp`]: a temporary directory per test, and SQLite database files inside it;
//! - [`schema`]: a database's schema read back from SQLite or PostgreSQL in one normalized
//!   shape, for the tests that the two migration sets of an app agree;
//! - [`outage`]: private PostgreSQL and Redis servers a test may stop and start again;
//! - [`web`]: a browser-like client (cookies kept, redirects followed one step at a time),
//!   hidden form fields, `Location` headers and form posting.
//!
//! This crate depends on none of the apps, so that their own integration tests can use it.

pub mod outage;
pub mod postgres;
pub mod relay;
pub mod schema;
pub mod serve;
pub mod services;
pub mod temp;
pub mod web;

pub use postgres::PgDatabase;
pub use relay::Relay;
pub use serve::{listen, serve, serve_router, serve_with_peer_addr, stop_signal, Served, Stop};
pub use services::{pg_admin_url, redis_prefix, redis_url, unique_tag};
pub use temp::TempDir;
pub use web::{browser, hidden, location, no_redirects, post_form, Browser, Page};

//! Integration tests of the IdP: real servers on random ports, real HTTP, the `openidconnect`
//! crate as the relying party, on SQLite + in-process store and on PostgreSQL + Redis.

mod harness;
mod rp;

mod code_flow;
mod logout;
mod scale_out;

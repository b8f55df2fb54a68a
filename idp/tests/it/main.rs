//! Integration tests of the IdP: real servers on random ports, real HTTP, the `openidconnect`
//! crate as the relying party, on SQLite + in-process store and on PostgreSQL + Redis.

mod harness;
mod proto;
mod register;
mod rp;

mod appeals;
mod audit;
mod authorize_errors;
mod captcha;
mod claims_cache;
mod client_addr;
mod client_auth;
mod code_flow;
mod consent_prompt;
mod console;
mod dev_captcha;
mod directory;
mod dpop;
mod health;
mod http_headers;
mod keys_cli;
mod keyset_api;
mod legacy;
mod login_modes;
mod login_rules;
mod login_throttle;
mod logout;
mod metrics;
mod migration_parity;
mod outage;
mod par;
mod portal_directory;
mod realname;
mod recovery;
mod resources;
mod scale;
mod scale_out;
mod sms;
mod standards;
mod submission_limits;
mod token_errors;
mod tokens;

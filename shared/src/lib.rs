//! Code shared by the Tongyi IdP and its relying parties (portal, subsystems).
//!
//! [`claims`] is the claims contract (SPEC §6): the names and shapes of the claims the IdP puts
//! into ID tokens, access tokens and userinfo responses. With the `rp` feature, `rp` adds the
//! relying-party login glue the portal and the subsystems share; the IdP does not enable it.
//! [`validate`] holds the validated field types of the registration forms (SPEC §3) and
//! [`mask`] the masking of personal data for display; both are used by the IdP. [`org`] and
//! [`roles`] are the typed unit states, membership roles and platform roles of the contract.
//! [`shanghai`] is the platform's calendar (Asia/Shanghai), used by all three apps.
//! [`api`] is the contract of the IdP's directory API for the portal (request and response
//! bodies; OpenAPI schemas with the feature `openapi`).

pub mod api;
pub mod claims;
#[cfg(feature = "client-addr")]
pub mod client_addr;
#[cfg(feature = "cookies")]
pub mod cookie;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "http-layers")]
pub mod http_layers;
pub mod mask;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod org;
#[cfg(feature = "process")]
pub mod process;
#[cfg(feature = "redis")]
pub mod redis_conn;
pub mod roles;
pub mod shanghai;
pub mod validate;
#[doc(hidden)]
pub mod wire_enum;

#[cfg(feature = "rp")]
pub mod rp;

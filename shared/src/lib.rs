//! Code shared by the Tongyi IdP and its relying parties (portal, subsystems).
//!
//! For now this is the claims contract (SPEC §6): the names and shapes of the claims the IdP
//! puts into ID tokens, access tokens and userinfo responses. Validators for the domain's
//! field rules and the RP login glue join it as the accounts and portal work lands.

pub mod claims;

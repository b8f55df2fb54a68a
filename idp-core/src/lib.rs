//! The Tongyi IdP's domain and protocol services, free of HTTP: the compiler keeps web types
//! out because this crate does not depend on a web framework. Handlers in `tongyi-idp` parse
//! their input, call one function here with the [`Services`] and render what it returns.
//!
//! Every fallible function answers with a domain error of its own area, whose failures of
//! ours are a [`Failure`]; `tongyi-idp` maps that to a response in one place.

pub mod accounts;
pub mod audit;
pub mod config;
pub mod directory;
pub mod failure;
pub mod fields;
pub mod legacy;
pub mod metrics;
pub mod oidc;
pub mod providers;
pub mod seed;
pub mod services;

/// The storage layer, kept under these paths so that the domain reads as before the split.
pub use tongyi_idp_store::{self as store, clock, crypto, pii};

pub use config::Config;
pub use failure::{Failure, FailureResult};
pub use fields::FieldErrors;
pub use services::Services;

//! Legacy accounts: the domain is `tongyi_idp_core::legacy`, re-exported here under its old
//! paths; what stays is the command line: the `idp legacy` commands (`command`) and the
//! import benchmark (`bench`).

pub mod bench;
pub mod command;

pub use tongyi_idp_core::legacy::{
    binding, credentials, hashes, history, import, lookup, outcome, rows,
};

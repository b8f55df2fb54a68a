//! Legacy accounts (SPEC §5, issue 6), free of HTTP: the bulk import of older systems'
//! exports with the four outcomes of seed 004 (`import`, `rows`, `outcome`), imported
//! password hashes upgraded at the first login (`hashes`, `credentials`), the public outcome
//! lookup 账号检索 (`lookup`), 老用户绑定 after login (`binding`) and history linking at
//! registration (`history`). The `idp legacy` commands and the benchmark live in the IdP.

pub mod binding;
pub mod credentials;
pub mod hashes;
pub mod history;
pub mod import;
pub mod lookup;
pub mod outcome;
pub mod rows;

//! The subsystem's storage on SQLite and on PostgreSQL: declarations, their transitions, their
//! lists and attachments with their files. One test binary; each test gets its own database.

mod harness;
mod lists;
mod migration_parity;
mod storage;

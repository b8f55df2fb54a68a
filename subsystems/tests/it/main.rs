//! The subsystem's storage on SQLite and on PostgreSQL: declarations, their transitions and
//! attachments with their files. One test binary; each test gets its own database.

mod harness;
mod migration_parity;
mod storage;

//! Account domain logic, free of HTTP: password hashing and password login with throttling.
//! Registration, verification and recovery join here with the accounts work.

pub mod login;
pub mod password;
pub mod sms_code;

//! Account domain logic, free of HTTP: password hashing, password login with throttling and
//! image captchas.
//! Registration, verification and recovery join here with the accounts work.

pub mod captcha;
pub mod login;
pub mod password;
pub mod register;
pub mod sessions;
pub mod sms_code;
pub mod uploads;

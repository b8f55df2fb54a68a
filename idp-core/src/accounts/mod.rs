//! Account domain logic, free of HTTP: password hashing, password and SMS login with
//! throttling and image captchas, password change / recovery / reset, disable and enable.
//! Registration, verification and recovery join here with the accounts work.

pub mod actor;
pub mod appeal;
pub mod captcha;
pub mod console;
pub mod email_code;
pub mod login;
pub mod login_throttle;
pub mod password;
pub mod profile;
pub mod realname;
pub mod realname_view;
pub mod recovery;
pub mod register;
pub mod sessions;
pub mod sms_code;
pub mod status;
pub mod uploads;

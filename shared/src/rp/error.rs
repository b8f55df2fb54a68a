//! What can go wrong on the relying-party side. The glue never renders these by itself: each
//! app maps [`RpError`] to responses in its one error type, showing the common message of
//! [`super::error_page`] in its own layout, or pages of its own (a subsystem's refusal).

/// The account an admission was refused to, for the page that says whom to ask.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The subsystem code the account lacks.
    pub required_grant: String,
    /// The subsystem's name as users know it.
    pub system_name: String,
    /// The account's display name (`name` claim), when released.
    pub name: Option<String>,
    /// The account's login name (`preferred_username` claim), when released.
    pub login_name: Option<String>,
    /// The unit that can grant access (`org.name`), when the account belongs to one.
    pub org_name: Option<String>,
}

/// A relying-party failure. `Display` never includes tokens, secrets or personal data, so
/// that the apps can log it as is.
#[derive(Debug, thiserror::Error)]
pub enum RpError {
    #[error("config value `{field}` is invalid: {reason}")]
    Config { field: &'static str, reason: String },
    /// The IdP could not be discovered (unreachable, wrong issuer, incomplete metadata).
    #[error("OpenID provider discovery failed: {0}")]
    Discovery(String),
    /// Too many logins in flight; refusing new ones keeps memory bounded.
    #[error("too many pending logins")]
    Busy,
    /// The callback's `state` is unknown, expired, used, or belongs to another browser.
    #[error("the login request is unknown or expired")]
    LoginExpired,
    /// The IdP answered the authorization request with an error (e.g. `access_denied`).
    #[error("the OpenID provider returned error `{0}`")]
    Provider(String),
    /// The callback is malformed (no code, a foreign `iss`).
    #[error("invalid callback: {0}")]
    Callback(&'static str),
    /// The token endpoint refused the code or could not be reached.
    #[error("code exchange failed: {0}")]
    Exchange(String),
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce, at_hash).
    #[error("ID token rejected: {0}")]
    IdToken(String),
    /// The local session is over: logged out, expired, or ended because the IdP refused to
    /// refresh it (revoked, expired, the account disabled, a required grant withdrawn).
    #[error("the session has ended; log in again")]
    SessionEnded,
    /// A form came without the session's CSRF token.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// Where sessions are kept (Redis) could not answer: an outage, answered with 503 and
    /// `Retry-After` (see [`super::ErrorKind::Unavailable`]).
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The account lacks the grant this app requires (SPEC §6).
    #[error("the account lacks the grant for this subsystem")]
    NotGranted(Box<Refusal>),
}

impl From<super::session_store::StoreError> for RpError {
    fn from(e: super::session_store::StoreError) -> Self {
        RpError::Unavailable(e.to_string())
    }
}

impl RpError {
    /// An invalid configuration value: of the `[rp]` table, or of the app's own settings.
    pub fn config(field: &'static str, reason: impl Into<String>) -> Self {
        RpError::Config {
            field,
            reason: reason.into(),
        }
    }
}

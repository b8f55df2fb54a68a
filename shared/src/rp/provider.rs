//! The OpenID provider as this relying party sees it: discovered once at start-up, with a JWK
//! Set that is refetched when a token names a key we have not seen (the IdP rotated keys).

use std::{
    sync::RwLock,
    time::{Duration, Instant},
};

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
        CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
        CoreTokenType,
    },
    AdditionalClaims, Client, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IdTokenFields, IssuerUrl, JwsSigningAlgorithm, ProviderMetadataWithLogout,
    StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

use super::{config::RpConfig, error::RpError};
use crate::claims::TongyiClaims;

/// The claims beyond the standard ones that we read from ID tokens: the Tongyi claims and the
/// IdP session id that back-channel logout refers to.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TongyiIdClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(flatten)]
    pub tongyi: TongyiClaims,
}

impl AdditionalClaims for TongyiIdClaims {}

pub(crate) type TongyiIdToken = IdToken<
    TongyiIdClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub(crate) type TongyiTokenResponse = StandardTokenResponse<
    IdTokenFields<
        TongyiIdClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// An `openidconnect` client whose ID tokens carry [`TongyiIdClaims`].
pub(crate) type TongyiClient = Client<
    TongyiIdClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TongyiTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A token naming an unknown key triggers at most one JWKS fetch per this interval, so that
/// forged tokens with random key ids cannot make us hammer the IdP.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) struct Provider {
    pub metadata: ProviderMetadataWithLogout,
    /// Asymmetric algorithms the IdP signs ID tokens with; MACs are never accepted.
    pub id_token_algs: Vec<CoreJwsSigningAlgorithm>,
    jwks: RwLock<CoreJsonWebKeySet>,
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Provider {
    /// Fetches the discovery document and the JWK Set, retrying until `discovery_timeout_secs`
    /// have passed so that an RP started together with the IdP waits for it.
    pub async fn discover(config: &RpConfig, http: &reqwest::Client) -> Result<Self, RpError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| RpError::Discovery(format!("issuer: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(config.discovery_timeout_secs);
        let mut attempt = 0u32;
        let metadata = loop {
            attempt += 1;
            match ProviderMetadataWithLogout::discover_async(issuer.clone(), http).await {
                Ok(m) => break m,
                Err(e) if Instant::now() < deadline => {
                    if attempt == 1 {
                        tracing::info!(issuer = %config.issuer, error = %e, "waiting for the IdP");
                    } else {
                        tracing::debug!(error = %e, attempt, "IdP discovery retry");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(RpError::Discovery(e.to_string())),
            }
        };
        if metadata
            .additional_metadata()
            .end_session_endpoint
            .is_none()
        {
            return Err(RpError::Discovery(
                "the IdP publishes no end_session_endpoint".into(),
            ));
        }
        if metadata.token_endpoint().is_none() {
            return Err(RpError::Discovery(
                "the IdP publishes no token_endpoint".into(),
            ));
        }
        let id_token_algs: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| !a.uses_shared_secret() && a.key_type().is_some())
            .cloned()
            .collect();
        if id_token_algs.is_empty() {
            return Err(RpError::Discovery(
                "the IdP signs ID tokens with no asymmetric algorithm".into(),
            ));
        }
        let jwks = metadata.jwks().clone();
        Ok(Provider {
            metadata,
            id_token_algs,
            jwks: RwLock::new(jwks),
            last_refetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The keys as last fetched.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        self.jwks.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Refetches the JWK Set unless that happened moments ago. Callers then retry their
    /// verification once with [`Provider::jwks`], whether or not this fetched anything: a
    /// concurrent caller may just have brought the new key.
    pub async fn refetch_jwks(&self, http: &reqwest::Client) {
        let mut last = self.last_refetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        match CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), http).await {
            Ok(set) => {
                tracing::info!("JWK Set refetched after an unknown key id");
                *self.jwks.write().unwrap_or_else(|p| p.into_inner()) = set;
            }
            Err(e) => tracing::warn!(error = %e, "JWK Set refetch failed"),
        }
    }
}

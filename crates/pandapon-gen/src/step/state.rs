//! What a client carries for its calls, besides its HTTP client: the
//! signers, the retry policy and budget, the body limits, the interceptors
//! and the dry-run hook; and how it signs one attempt.

use std::sync::Arc;

use pandapon_auth::{QuerySigner, Signer};

use super::body::BodyLimits;
use super::intercept;
use super::retry::{self, RetryPolicy};

/// Receives each signed request instead of the network.
pub(crate) type DryRun = Arc<dyn Fn(&reqwest::Request) + Send + Sync>;

/// What a [`Client`](crate::Client) carries besides its HTTP client and
/// base URL: the signers, the retry policy, the body limits and the dry-run
/// callback.
///
/// It is public only because the generated `Client` names it; it is not part
/// of the documented API. It has no public constructor, so every
/// [`Client`](crate::Client) is built through
/// [`ClientBuilder`](crate::ClientBuilder) and every request it sends is
/// signed.
#[doc(hidden)]
#[derive(Clone)]
pub struct ClientState {
    /// The base URL, parsed once.
    pub(crate) base: reqwest::Url,
    pub(crate) signer: Signer,
    pub(crate) query_signer: Arc<dyn QuerySigner>,
    pub(crate) dry_run: Option<DryRun>,
    pub(crate) policy: RetryPolicy,
    pub(crate) limits: BodyLimits,
    /// Shared by every call through the client and by its sub-account clients.
    pub(crate) bucket: Arc<retry::TokenBucket>,
    pub(crate) interceptors: Arc<[Arc<dyn intercept::Interceptor>]>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field("base", &self.base.as_str())
            .field("signer", &self.signer)
            .field("query_signer", &self.query_signer)
            .field("dry_run", &self.dry_run.is_some())
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("retry_budget", &self.bucket.budget())
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl ClientState {
    /// Signs one attempt: the five headers, and when `query_signed` (the
    /// warehouse-logistics operations) the `timestamp` and `sign` query
    /// parameters, replacing any left from an earlier attempt.
    pub(crate) fn sign(&self, request: &mut reqwest::Request, query_signed: bool) {
        let headers = self.signer.sign_now();
        headers.apply(request.headers_mut());
        if query_signed {
            let params = self.query_signer.query(&headers);
            let url = request.url_mut();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !params.iter().any(|(name, _)| k == name))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .extend_pairs(params);
        }
    }
}

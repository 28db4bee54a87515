//! Request signing and verification for the PandaPon OpenAPI.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod credentials;
mod push;
mod query;
mod sign;
mod signer;
mod verify;

pub use credentials::{Credentials, CredentialsError};
pub use push::{
    PushSignatureBase, PushSignatureError, push_signature, push_signature_with, verify_push,
};
pub use query::{HeaderRuleQuery, QuerySigner};
pub use sign::{
    ACCESS_KEY, NONCE, NONCE_LEN, Nonce, ParamError, SIGNATURE, Signature, SignedHeaders,
    StringToSign, TIMESTAMP, Timestamp, USER_ID, sign,
};
pub use signer::{Signer, TimestampUnit, UnknownUnit};
pub use verify::{DEFAULT_WINDOW, Verifier, VerifyError};

/// The header map type [`SignedHeaders::apply`] writes to.
pub use http::HeaderMap;

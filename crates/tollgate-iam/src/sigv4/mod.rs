//! AWS Signature Version 4: the signer and the verifier, for services other than S3 (paths
//! normalised and encoded twice, payloads hashed).

mod canonical;
pub mod encoding;
mod error;
mod sign;
pub mod time;
mod verify;

pub use canonical::{EMPTY_PAYLOAD_SHA256, constant_time_eq, sha256_hex};
pub use error::SigV4Error;
pub use sign::{Signable, SigningParams, presign, sign};
pub use verify::{Expectations, MAX_EXPIRES_SECS, Request, TIME_WINDOW, Verified, verify};

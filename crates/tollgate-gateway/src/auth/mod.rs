//! Authorization on the data plane. [`jwt`] verifies JSON Web Tokens against an issuer's keys
//! (HTTP API `JWT` authorizers; usable for REST `COGNITO_USER_POOLS` authorizers too); [`iam`]
//! verifies SigV4-signed callers and their identity policies (`AWS_IAM`).

pub mod iam;
pub mod jwt;

//! Authorization on the data plane. [`jwt`] verifies JSON Web Tokens against an issuer's keys
//! (HTTP API `JWT` authorizers; usable for REST `COGNITO_USER_POOLS` authorizers too).

pub mod jwt;

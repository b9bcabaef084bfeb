//! AWS Signature Version 4 and IAM policies, for Tollgate's `AWS_IAM` methods, resource
//! policies and its locked management API. Pure: no I/O, no async.
//!
//! - [`sigv4`]: the verifier ([`sigv4::verify`], header and presigned forms, AWS's errors)
//!   and the signer ([`sigv4::sign`], [`sigv4::presign`]).
//! - [`policy`]: policy documents compiled once and evaluated per request, and
//!   [`policy::authorize`], API Gateway's combination of resource policy and identity.
//! - [`Principal`] / [`CredentialsLookup`]: the access keys a verifier knows.
//!
//! # An `AWS_IAM` method in the data plane
//!
//! ```
//! use std::sync::Arc;
//! use tollgate_iam::policy::{authorize, Authentication, Decision, Policy, RequestContext};
//! use tollgate_iam::sigv4::{self, Expectations, Request};
//! use tollgate_iam::{CredentialsLookup, Principal};
//!
//! // Known keys (Tollgate's credentials registry implements `CredentialsLookup`).
//! let mut user = Principal::user("AKIDEXAMPLE", "secret", "123456789012", "alice");
//! user.policies.push(Arc::new(Policy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Effect": "Allow", "Action": "execute-api:Invoke",
//!     "Resource": "arn:aws:execute-api:*:*:abc123/prod/GET/*"}}"#).unwrap()));
//! let keys = vec![Arc::new(user)];
//!
//! // A client signs (here with this crate's signer; boto3's works the same).
//! let body = b"";
//! let added = sigv4::sign(
//!     &sigv4::Signable { method: "GET", path: "/prod/pets", query: "",
//!         headers: &[("host", "abc123.execute-api.localhost")], payload: body },
//!     &sigv4::SigningParams { access_key_id: "AKIDEXAMPLE", secret_access_key: "secret",
//!         session_token: None, region: "us-east-1", service: "execute-api",
//!         time: std::time::SystemTime::now() },
//! );
//! let mut request = http::Request::get("/prod/pets").header("host", "abc123.execute-api.localhost");
//! for (name, value) in &added { request = request.header(*name, value); }
//! let (parts, ()) = request.body(()).unwrap().into_parts();
//!
//! // 1. Verify the signature: on `Err(e)`, answer `e.status()` with `{"message": e.to_string()}`
//! //    and `x-amzn-ErrorType: e.error_type()` (or the gateway response `e.gateway_response_type()`).
//! let verified = sigv4::verify(
//!     &Request::from_parts(&parts),
//!     &sigv4::sha256_hex(body),
//!     keys.as_slice(),
//!     &Expectations::new(&["execute-api"], Some("us-east-1")),
//! ).unwrap();
//!
//! // 2. Evaluate the identity policies and the API's resource policy for the method's ARN
//! //    arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}.
//! let context = RequestContext {
//!     principal_arn: Some(&verified.principal.arn),
//!     principal_account: Some(&verified.principal.account_id),
//!     action: "execute-api:Invoke",
//!     resource: "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
//!     source_ip: Some("192.0.2.10".parse().unwrap()),
//!     keys: &[],
//! };
//! let identity = Policy::evaluate_all(verified.principal.policies.iter().map(|p| &**p), &context);
//! let resource_policy: Option<Policy> = None; // the deployment's `policy`, compiled once
//! let decision = authorize(
//!     resource_policy.as_ref().map(|p| p.evaluate(&context)),
//!     Authentication::Iam { identity, same_account: verified.principal.account_id == "123456789012" },
//! );
//! assert_eq!(decision, Decision::Allow);
//! // Otherwise 403 {"Message": "User: {arn} is not authorized to perform: execute-api:Invoke
//! // on resource: {arn}[ with an explicit deny]"}: see `policy::not_authorized_message`.
//! ```
//!
//! `$context.identity` gets `accessKey` = `verified.principal.access_key_id`, `user` /
//! `caller` = the access key id (AWS puts the principal id there), `userArn` =
//! `verified.principal.arn`, `accountId` = `verified.principal.account_id`.

pub mod policy;
mod principal;
pub mod sigv4;

pub use principal::{CredentialsLookup, Principal, user_arn};

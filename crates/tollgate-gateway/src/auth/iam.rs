//! `AWS_IAM` callers of the data plane (REST methods, HTTP API routes): the SigV4 signature
//! (service `execute-api`, the gateway's region) verified against the managed credentials,
//! and the caller's identity policies evaluated for `execute-api:Invoke` on the resource ARN.

use std::sync::Arc;

use hyper::HeaderMap;
use tollgate_iam::policy::{Decision, Policy, RequestContext};
use tollgate_iam::sigv4::{self, SigV4Error};
use tollgate_iam::{CredentialsLookup, Principal};

/// What a SigV4 signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The URI path exactly as the client sent it.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The verified caller of a signed request.
pub fn verify<L: CredentialsLookup + ?Sized>(
    request: &SignedRequest<'_>,
    credentials: &L,
    region: &str,
) -> Result<Arc<Principal>, SigV4Error> {
    let signed = sigv4::Request::new(request.method, request.path, request.query, request.headers);
    sigv4::verify(
        &signed,
        &sigv4::sha256_hex(request.body),
        credentials,
        &sigv4::Expectations::new(&["execute-api"], Some(region)),
    )
    .map(|verified| verified.principal)
}

/// What the caller's identity policies say about invoking `resource`.
pub fn identity_decision(principal: &Principal, resource: &str, source_ip: &str) -> Decision {
    let context = invoke_context(Some(principal), resource, source_ip);
    Policy::evaluate_all(principal.policies.iter().map(|p| &**p), &context)
}

/// The request context of `execute-api:Invoke` on `resource`.
pub fn invoke_context<'a>(
    principal: Option<&'a Principal>,
    resource: &'a str,
    source_ip: &str,
) -> RequestContext<'a> {
    RequestContext {
        principal_arn: principal.map(|p| p.arn.as_str()),
        principal_account: principal.map(|p| p.account_id.as_str()),
        action: "execute-api:Invoke",
        resource,
        source_ip: source_ip.parse().ok(),
        keys: &[],
    }
}

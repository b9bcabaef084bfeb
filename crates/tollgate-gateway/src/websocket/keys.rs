//! API keys on WebSocket APIs, with REST's keys and usage plans (a plan's `apiStages` name the
//! WebSocket API and stage). A `$connect` route with `ApiKeyRequired` wants a key (from the
//! `x-api-key` header, or from the `$connect` authorizer's `usageIdentifierKey` when the API's
//! `ApiKeySelectionExpression` says so) that is enabled and in a usage plan of the stage;
//! otherwise the handshake is refused with 403. The handshake and then every message of a
//! connection admitted with a key count as requests of that key: its plan's throttle and
//! quota apply (429), and its usage is metered.

use super::Runtime;
use super::connection::Connection;
use crate::error::GatewayError;

/// Which key `$connect` admits the connection with (`None` when `$connect` wants none).
pub fn admit_connect(
    runtime: &Runtime,
    connection: &Connection,
    header: Option<&str>,
    from_authorizer: Option<&str>,
) -> Result<Option<String>, GatewayError> {
    let required = connection
        .plan
        .routes
        .get("$connect")
        .is_some_and(|r| r.api_key_required);
    if !required {
        return Ok(None);
    }
    let value = if connection.plan.api_key_from_authorizer {
        from_authorizer
    } else {
        header
    }
    .ok_or(GatewayError::InvalidApiKey)?;
    admit(runtime, connection, value, "$connect", 0)?;
    Ok(Some(value.to_string()))
}

/// Counts a message of a connection admitted with a key against that key's usage plan.
pub fn admit_message(
    runtime: &Runtime,
    connection: &Connection,
    route_key: &str,
    bytes: usize,
) -> Result<(), GatewayError> {
    match &connection.api_key {
        Some(value) => admit(runtime, connection, value, route_key, bytes),
        None => Ok(()),
    }
}

fn admit(
    runtime: &Runtime,
    connection: &Connection,
    value: &str,
    route_key: &str,
    bytes: usize,
) -> Result<(), GatewayError> {
    let registry = runtime.access.registry();
    let access = registry
        .key(value)
        .filter(|k| k.enabled)
        .and_then(|k| k.stage(&connection.api_id, &connection.stage))
        .ok_or(GatewayError::InvalidApiKey)?;
    access.admit(route_key, "*")?;
    access.usage.record_request(bytes);
    Ok(())
}

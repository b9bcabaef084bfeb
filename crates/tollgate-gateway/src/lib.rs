//! The data plane: it serves every deployed stage of every REST API.
//!
//! - [`address`] tells a data-plane request from a management one and finds its API, stage and
//!   path (path style and host style addresses).
//! - [`plans`] keeps the compiled per-stage plans, follows the store's change feed, recompiles
//!   what changed and swaps the result in atomically: the request path reads plans without
//!   locks and never touches the store.
//! - [`access`] holds the account-wide registry of API keys and usage plans, the account
//!   throttle, and usage metering; [`authorizer`] runs Lambda authorizers.
//! - [`pipeline`] runs one request: route, guard (authorizer, API key, throttles, quota),
//!   method, integration, response.
//! - [`http_api`] runs one request to an HTTP API (`apigatewayv2`); [`auth`] verifies JWTs.
//! - [`integration`] holds the integrations (HTTP, HTTP_PROXY, MOCK) and the backend client.
//! - [`server`] is the listener loop shared with the management API, with its own HTTP/1.x
//!   fast path in front of hyper.
//! - [`websocket`] serves WebSocket APIs: handshakes, connections, routing, `@connections`.

pub mod access;
pub mod address;
pub mod auth;
mod authorizer;
mod body;
mod context;
pub mod credentials;
mod error;
mod framing;
pub mod http_api;
pub mod integration;
mod pipeline;
pub mod plans;
pub mod server;
pub mod telemetry;
pub mod trace_export;
pub mod websocket;

pub use address::Address;
pub use error::GatewayError;
pub use pipeline::{CognitoUserPool, Gateway, GatewayConfig};

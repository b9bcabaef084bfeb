//! The integrations a method can have, and what they share: the backend client and the
//! mapping of an integration's answer through the integration responses.

pub mod client;
pub mod http;
pub mod mock;
mod respond;

pub use client::BackendClient;

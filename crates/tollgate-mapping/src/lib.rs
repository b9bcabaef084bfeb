//! API Gateway mapping-template bindings (in progress).

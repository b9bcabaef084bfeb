//! Velocity Template Language engine.

//! Lambda-style functions (in progress).

//! `tollgate-mapping`: Amazon API Gateway's mapping-template bindings over the
//! [`tollgate_vtl`] engine.
//!
//! * [`bind`] puts `$input` (payload and parameters of one request) and
//!   `$util` (escaping, JSON, URL and Base64 helpers) into a VTL context;
//! * [`jsonpath`] is the Jayway-compatible JSONPath used by `$input.json(x)`
//!   and `$input.path(x)`;
//! * [`to_vtl`] / [`to_json`] convert between `serde_json` and template
//!   values; [`json_text`] writes JSON the way API Gateway does.
//!
//! ```
//! use std::sync::Arc;
//! use tollgate_mapping::{RequestData, bind};
//! use tollgate_vtl::{Context, Limits, Template};
//!
//! let t = Template::parse(r#"{"n": $input.json('$.name'), "id": "$input.params('id')"}"#).unwrap();
//! let data = RequestData {
//!     body: br#"{"name":"Ann"}"#.to_vec(),
//!     path: vec![("id".into(), "7".into())],
//!     ..RequestData::default()
//! };
//! let mut ctx = Context::new();
//! bind(&mut ctx, Arc::new(data));
//! assert_eq!(t.render(&mut ctx, &Limits::default()).unwrap(), r#"{"n": "Ann", "id": "7"}"#);
//! ```
//!
//! Module map: [`input`] (`$input`), [`util`] (`$util`), [`jsonpath`],
//! [`convert`].

use std::sync::Arc;

use tollgate_vtl::{Context, Value};

pub mod convert;
mod document;
pub mod input;
pub mod jsonpath;
pub mod util;

pub use convert::{json_text, to_json, to_vtl};

/// The request (or integration response) as templates see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestData {
    /// The raw payload.
    pub body: Vec<u8>,
    /// Path parameters, decoded.
    pub path: Vec<(String, String)>,
    /// Query parameters, decoded; repeated keys kept in order.
    pub querystring: Vec<(String, String)>,
    /// Headers with their original case; repeated ones kept in order.
    pub header: Vec<(String, String)>,
}

/// Binds `$input` (for `data`) and `$util` into `ctx`.
pub fn bind(ctx: &mut Context, data: Arc<RequestData>) {
    ctx.insert("input", Value::Object(Arc::new(input::Input::new(data))));
    ctx.insert("util", Value::Object(Arc::new(util::Util)));
}

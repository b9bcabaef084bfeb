//! `tollgate-vtl`: a Velocity Template Language (VTL) engine that behaves like
//! Apache Velocity 1.7, the version Amazon API Gateway runs for its mapping
//! templates.
//!
//! The crate is dependency-free and split by concern:
//!
//! * [`lexer`]: character cursor and the token scanner used inside `( ... )`.
//! * [`parser`]: turns template text into the [`ast`], reproducing Velocity's
//!   whitespace rules at parse time (which newlines a directive eats, when the
//!   indentation before `#set` disappears).
//! * [`eval`]: renders an AST against a [`Context`] under [`Limits`].
//! * [`value`]: the Java-like value model and its `toString` rendering.
//! * [`methods`]: the `java.lang.String` / `List` / `Map` methods templates call.
//! * [`regex`]: a small memoised backtracking regex engine for `replaceAll`,
//!   `matches` and `split`.
//!
//! Parse once with [`Template::parse`], render many times with
//! [`Template::render`]; a [`Template`] is immutable and `Send + Sync`.
//!
//! ```
//! use tollgate_vtl::{Context, Limits, Template, Value};
//! let t = Template::parse("Hello $name!").unwrap();
//! let mut ctx = Context::new();
//! ctx.insert("name", Value::from("World"));
//! assert_eq!(t.render(&mut ctx, &Limits::default()).unwrap(), "Hello World!");
//! ```

pub mod ast;
pub mod eval;
pub mod lexer;
pub mod methods;
pub mod parser;
pub mod regex;
pub mod value;

pub use eval::{Context, Limits, RenderError};
pub use parser::{MAX_TEMPLATE_BYTES, ParseError, Template};
pub use value::{Frozen, HostObject, List, Map, Value};

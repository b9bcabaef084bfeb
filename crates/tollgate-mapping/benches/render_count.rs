//! A plain loop over the same work as the `render` benchmark, for counting
//! instructions (repeatable on a loaded machine, unlike wall time):
//!
//! ```text
//! cargo bench -p tollgate-mapping --bench render_count --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/render_count-<hash> warm 1
//! valgrind ... warm 201   # (Ir(201) - Ir(1)) / 200 = instructions per render
//! ```
//!
//! Arguments: `warm N` (N renders on one context, the body parsed once),
//! `request N` (N renders each on a fresh context, as a request does) or
//! `parse N`. Without arguments (as `cargo bench` runs it) it does one of each.
//! `RENDER_TEMPLATE=<file>` renders that template instead (to see what one
//! part of the typical template costs).

use std::hint::black_box;

use tollgate_vtl::{Limits, Template};

mod common;
use common::{TEMPLATE, context_value, fresh_context, request};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n) = match args.as_slice() {
        [mode, n] if !mode.starts_with('-') => (mode.as_str(), n.parse().expect("a count")),
        _ => ("all", 1),
    };
    let limits = Limits::default();
    let data = request();
    let context = context_value();
    let src = match std::env::var_os("RENDER_TEMPLATE") {
        Some(file) => std::fs::read_to_string(file).expect("RENDER_TEMPLATE is readable"),
        None => TEMPLATE.to_string(),
    };
    let t = Template::parse(&src).expect("template parses");
    let mut total = 0usize;
    if matches!(mode, "parse" | "all") {
        for _ in 0..n {
            total += Template::parse(black_box(TEMPLATE)).is_ok() as usize;
        }
    }
    if matches!(mode, "request" | "all") {
        for _ in 0..n {
            let mut ctx = fresh_context(&data, &context);
            total += t
                .render(black_box(&mut ctx), &limits)
                .expect("renders")
                .len();
        }
    }
    if matches!(mode, "warm" | "all") {
        let mut ctx = fresh_context(&data, &context);
        for _ in 0..n {
            total += t
                .render(black_box(&mut ctx), &limits)
                .expect("renders")
                .len();
        }
    }
    black_box(total);
}

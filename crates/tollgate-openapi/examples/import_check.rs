//! Imports each definition named on the command line and prints one line per file: `ok` with
//! the counts and warnings, or the problems. `cargo run -p tollgate-openapi --example
//! import_check -- FILE...`
fn main() {
    for path in std::env::args().skip(1) {
        let Ok(source) = std::fs::read(&path) else {
            println!("{path}\tunreadable");
            continue;
        };
        let options = tollgate_openapi::ImportOptions::default();
        match tollgate_openapi::import(&source, "check", &options) {
            Ok(plan) => {
                let ops: usize = plan.resources.iter().map(|r| r.methods.len()).sum();
                println!(
                    "{path}\tok\tops={ops}\tmodels={}\twarnings={}",
                    plan.models.len(),
                    plan.warnings.len()
                );
            }
            Err(e) => {
                let first = e.0.first().map(|p| p.to_string()).unwrap_or_default();
                println!("{path}\terror\t{}\t{first}", e.0.len());
            }
        }
    }
}

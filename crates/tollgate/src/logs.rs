//! `tollgate logs FUNCTION [--follow]`: a function's log (START / END / REPORT lines and what
//! the function printed), read from the data directory; with `--follow`, new lines as they come.
//! `tollgate logs --api ID --stage NAME`: the stage's access log instead.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The function's name
    #[arg(conflicts_with_all = ["api", "function_flag"])]
    function: Option<String>,
    /// The function's name (the same as the positional argument)
    #[arg(long = "function", conflicts_with = "api")]
    function_flag: Option<String>,
    /// A REST API's id: print the access log of one of its stages (with --stage)
    #[arg(long, requires = "stage")]
    api: Option<String>,
    /// The stage whose access log to print (with --api)
    #[arg(long, requires = "api")]
    stage: Option<String>,
    /// Keep printing new lines as the function logs them
    #[arg(long, short = 'f')]
    follow: bool,
    /// The data directory of the server [default: ./.tollgate]
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// Where the function runtime keeps a function's log under a data directory.
pub fn log_file(data_dir: &Path, function: &str) -> PathBuf {
    data_dir
        .join("functions")
        .join("logs")
        .join(format!("{function}.log"))
}

/// Where the data plane writes a stage's access log under a data directory.
pub fn access_log_file(data_dir: &Path, api_id: &str, stage: &str) -> PathBuf {
    data_dir
        .join("logs")
        .join("access")
        .join(api_id)
        .join(format!("{stage}.log"))
}

pub fn run(args: LogsArgs) -> Result<(), String> {
    let data_dir = args.data_dir.unwrap_or_else(|| PathBuf::from(".tollgate"));
    let (path, what) = match (&args.api, &args.stage, args.function.or(args.function_flag)) {
        (Some(api), Some(stage), _) => (
            access_log_file(&data_dir, api, stage),
            format!("stage {stage} of API {api}"),
        ),
        (_, _, Some(function)) => (
            log_file(&data_dir, &function),
            format!("function {function}"),
        ),
        _ => return Err("name a function, or an API and a stage (--api ID --stage NAME)".into()),
    };
    let mut offset = 0u64;
    let mut stdout = std::io::stdout();
    loop {
        match std::fs::File::open(&path) {
            Ok(mut file) => {
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                // The runtime trims logs from the front; start over when the file shrank.
                if len < offset {
                    offset = 0;
                }
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| e.to_string())?;
                let mut chunk = Vec::new();
                file.read_to_end(&mut chunk).map_err(|e| e.to_string())?;
                offset += chunk.len() as u64;
                stdout.write_all(&chunk).map_err(|e| e.to_string())?;
                stdout.flush().map_err(|e| e.to_string())?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.follow => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("no logs for {what} in {}", data_dir.display()));
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        if !args.follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

//! Helpers shared by the integration tests: temp dirs with function code, configs, process checks.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tollgate_functions::{
    FunctionConfig, Functions, Interpreters, Invocation, InvokeOutcome, PythonClient,
    RuntimeSettings,
};

/// A test's work dir and code dirs; deleted when dropped.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn settings(&self) -> RuntimeSettings {
        RuntimeSettings::new(self.dir.path().join("work"))
    }

    /// A code dir `name` with the given files.
    pub fn code(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.dir.path().join("code").join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (file, content) in files {
            let path = dir.join(file);
            std::fs::write(&path, content).expect("write");
            if *file == "bootstrap" {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
        }
        dir
    }

    /// A path for files the functions write (pids and the like).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Functions using Tollgate's shipped Python bootstrap.
pub fn functions(settings: RuntimeSettings) -> Arc<Functions> {
    Functions::with_interpreters(
        settings,
        Interpreters {
            python_client: PythonClient::Shipped,
            ..Interpreters::default()
        },
    )
}

pub fn config(name: &str, runtime: &str, handler: &str, code_dir: &Path) -> FunctionConfig {
    FunctionConfig {
        name: name.to_owned(),
        qualifier: "$LATEST".to_owned(),
        arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{name}"),
        runtime: runtime.to_owned(),
        handler: handler.to_owned(),
        code_dir: code_dir.to_owned(),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(3),
        memory_mb: 256,
        reserved_concurrency: None,
    }
}

pub fn json(outcome: &InvokeOutcome) -> serde_json::Value {
    serde_json::from_slice(&outcome.payload).unwrap_or_else(|e| {
        panic!(
            "payload is not JSON ({e}): {}",
            String::from_utf8_lossy(&outcome.payload)
        )
    })
}

/// Invokes `$LATEST` of `name` `n` times at once; every invocation must succeed.
pub async fn invoke_at_once(
    functions: &Arc<Functions>,
    name: &str,
    n: usize,
) -> Vec<InvokeOutcome> {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let functions = functions.clone();
        let name = name.to_owned();
        calls.spawn(async move {
            functions
                .invoke(&name, "$LATEST", Invocation::new("{}"))
                .await
        });
    }
    calls
        .join_all()
        .await
        .into_iter()
        .map(|outcome| outcome.expect("invoke"))
        .collect()
}

/// The distinct process ids a handler returning `os.getpid()` answered with.
pub fn distinct_pids(outcomes: &[InvokeOutcome]) -> Vec<u64> {
    let mut pids: Vec<u64> = outcomes
        .iter()
        .map(|o| json(o).as_u64().expect("pid"))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .unwrap_or("X");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// Waits up to `within` for a process to be gone.
pub async fn gone_within(pid: u64, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if !alive(pid) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A Python handler module keeping state between invocations.
pub const PY_COUNTER: &str = r#"
import os
count = 0

def handler(event, context):
    global count
    count += 1
    print("invocation", count, "of", context.function_name)
    return {
        "count": count,
        "pid": os.getpid(),
        "event": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "log_group": context.log_group_name,
        "version": context.function_version,
    }
"#;

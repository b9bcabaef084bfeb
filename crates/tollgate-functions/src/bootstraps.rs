//! What process to start for a runtime identifier.
//!
//! | runtime | command (cwd = code dir) |
//! |---|---|
//! | `provided`, `provided.al2`, `provided.al2023` | `{code_dir}/bootstrap` |
//! | `python3.*` | `python3 -m awslambdaric HANDLER` if the official client is importable, else Tollgate's `python_bootstrap.py` |
//! | `nodejs*` | `node node_bootstrap.js` (Tollgate's) |
//!
//! Tollgate's own bootstraps are embedded in the binary and written to `work_dir/runtime/` (the
//! instances' `LAMBDA_RUNTIME_DIR`) on first use, so a function behaves the same whether or not the
//! machine has AWS's runtime clients installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;

/// Tollgate's Python runtime interface client.
pub const PYTHON_BOOTSTRAP: &str = include_str!("../bootstraps/python_bootstrap.py");
/// Tollgate's Node.js runtime interface client.
pub const NODE_BOOTSTRAP: &str = include_str!("../bootstraps/node_bootstrap.js");

/// Which Python runtime interface client to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PythonClient {
    /// `awslambdaric` when `python -c "import awslambdaric"` succeeds, else the shipped bootstrap.
    #[default]
    Auto,
    /// Always AWS's `awslambdaric` (fails at init if it is missing).
    Awslambdaric,
    /// Always Tollgate's shipped bootstrap.
    Shipped,
}

/// The interpreters used for interpreted runtimes. Lambda pins a version per runtime identifier;
/// Tollgate runs whatever interpreter the machine has, so `python3.12` runs under the local
/// `python3` whatever its minor version.
#[derive(Debug, Clone)]
pub struct Interpreters {
    /// Default: `$TOLLGATE_PYTHON` or `python3`.
    pub python: OsString,
    /// Default: `$TOLLGATE_NODE` or `node`.
    pub node: OsString,
    pub python_client: PythonClient,
}

impl Default for Interpreters {
    fn default() -> Self {
        Self {
            python: std::env::var_os("TOLLGATE_PYTHON").unwrap_or_else(|| "python3".into()),
            node: std::env::var_os("TOLLGATE_NODE").unwrap_or_else(|| "node".into()),
            python_client: PythonClient::Auto,
        }
    }
}

/// The family of a runtime identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeKind {
    Provided,
    Python,
    Node,
}

impl RuntimeKind {
    pub(crate) fn of(runtime: &str) -> Option<Self> {
        if runtime.starts_with("provided") {
            Some(Self::Provided)
        } else if runtime.starts_with("python3") {
            Some(Self::Python)
        } else if runtime.starts_with("nodejs") {
            Some(Self::Node)
        } else {
            None
        }
    }
}

/// A program and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// Resolves runtimes to launch commands; remembers the runtime dir and the awslambdaric probe.
pub(crate) struct Launcher {
    interpreters: Interpreters,
    runtime_dir: PathBuf,
    written: OnceCell<()>,
    has_awslambdaric: OnceCell<bool>,
}

impl Launcher {
    pub(crate) fn new(interpreters: Interpreters, runtime_dir: PathBuf) -> Self {
        Self {
            interpreters,
            runtime_dir,
            written: OnceCell::new(),
            has_awslambdaric: OnceCell::new(),
        }
    }

    pub(crate) fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// Writes the embedded bootstraps (once per process; rewritten so an upgrade takes effect).
    async fn write_bootstraps(&self) -> std::io::Result<()> {
        self.written
            .get_or_try_init(|| async {
                tokio::fs::create_dir_all(&self.runtime_dir).await?;
                tokio::fs::write(
                    self.runtime_dir.join("python_bootstrap.py"),
                    PYTHON_BOOTSTRAP,
                )
                .await?;
                tokio::fs::write(self.runtime_dir.join("node_bootstrap.js"), NODE_BOOTSTRAP)
                    .await?;
                Ok::<(), std::io::Error>(())
            })
            .await
            .map(|_| ())
    }

    async fn use_awslambdaric(&self) -> bool {
        match self.interpreters.python_client {
            PythonClient::Awslambdaric => true,
            PythonClient::Shipped => false,
            PythonClient::Auto => {
                *self
                    .has_awslambdaric
                    .get_or_init(|| async {
                        let probe = tokio::process::Command::new(&self.interpreters.python)
                            .args(["-c", "import awslambdaric"])
                            .stdin(std::process::Stdio::null())
                            .stdout(std::process::Stdio::null())
                            .stderr(std::process::Stdio::null())
                            .status()
                            .await;
                        let found = matches!(probe, Ok(s) if s.success());
                        tracing::debug!(found, "probed for awslambdaric");
                        found
                    })
                    .await
            }
        }
    }

    /// The command for `runtime`; `Err` carries a Lambda-style message for unusable configs.
    pub(crate) async fn launch(
        &self,
        kind: RuntimeKind,
        handler: &str,
        code_dir: &Path,
    ) -> Result<Launch, std::io::Error> {
        match kind {
            RuntimeKind::Provided => Ok(Launch {
                program: code_dir.join("bootstrap").into_os_string(),
                args: Vec::new(),
            }),
            RuntimeKind::Python => {
                if self.use_awslambdaric().await {
                    Ok(Launch {
                        program: self.interpreters.python.clone(),
                        args: vec!["-m".into(), "awslambdaric".into(), handler.into()],
                    })
                } else {
                    self.write_bootstraps().await?;
                    Ok(Launch {
                        program: self.interpreters.python.clone(),
                        args: vec![
                            self.runtime_dir
                                .join("python_bootstrap.py")
                                .into_os_string(),
                        ],
                    })
                }
            }
            RuntimeKind::Node => {
                self.write_bootstraps().await?;
                Ok(Launch {
                    program: self.interpreters.node.clone(),
                    args: vec![self.runtime_dir.join("node_bootstrap.js").into_os_string()],
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_runtimes() {
        assert_eq!(RuntimeKind::of("python3.12"), Some(RuntimeKind::Python));
        assert_eq!(RuntimeKind::of("nodejs20.x"), Some(RuntimeKind::Node));
        assert_eq!(
            RuntimeKind::of("provided.al2023"),
            Some(RuntimeKind::Provided)
        );
        assert_eq!(RuntimeKind::of("java21"), None);
    }
}

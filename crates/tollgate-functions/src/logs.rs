//! Function logs: one bounded file per function, and per-instance capture of stdout/stderr.
//!
//! Lambda sends everything a function prints, framed by `START`/`END`/`REPORT` lines, to
//! CloudWatch, and `Invoke` with `LogType=Tail` returns the last 4 KB of that invocation's lines.
//! Here the destination is `work_dir/logs/NAME.log`, rotated to `NAME.log.1` when it reaches half
//! of `log_bytes_per_function`, so the two files together never exceed the bound.
//!
//! An instance's stdout and stderr share one pipe (as in Lambda, where both end up in one log
//! stream). A task reads it as data arrives; when an invocation ends, [`OutputCapture::drain`] reads
//! whatever is still in the pipe *synchronously* before `END` is written. A runtime writes its
//! output before it posts the response, so everything the handler printed is in the pipe by then:
//! this makes `tail_log` and the order of lines in the file deterministic rather than racy.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::unix::pipe;

/// How much of an invocation's log `tail_log` returns (Lambda: the last 4 KB).
pub(crate) const TAIL_BYTES: usize = 4096;

/// How much of the pipe is read at once.
const READ_BUFFER: usize = 16 * 1024;

/// A line longer than this is cut, as CloudWatch does with events above 256 KB.
const MAX_LINE: usize = 256 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a log lock leaves plain data behind; keep logging.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The log files of all functions, keyed by function name (all qualifiers share one file, as all
/// versions of a function share one CloudWatch log group).
pub(crate) struct LogRegistry {
    dir: PathBuf,
    limit: u64,
    files: Mutex<HashMap<String, Arc<FunctionLog>>>,
}

impl LogRegistry {
    pub(crate) fn new(dir: PathBuf, limit: u64) -> Self {
        Self {
            dir,
            limit,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Where the log of function `name` lives. Names are validated by the management API
    /// (`[a-zA-Z0-9-_]+`); anything else is replaced so a name can never leave the directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.log"))
    }

    /// Writes every function's gathered lines (at shutdown, in case an invocation is still in
    /// flight when the process ends).
    pub(crate) fn flush_all(&self) {
        for log in lock(&self.files).values() {
            log.flush();
        }
    }

    pub(crate) fn get(&self, name: &str) -> Arc<FunctionLog> {
        let mut files = lock(&self.files);
        files
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(FunctionLog::new(self.path(name), self.limit)))
            .clone()
    }
}

/// One function's log file with its size bound.
pub(crate) struct FunctionLog {
    path: PathBuf,
    limit: u64,
    state: Mutex<FileState>,
}

/// While invocations of the function are in flight, lines are gathered and written together:
/// when the last of them ends, when this many bytes are waiting, or this long after the first
/// waiting line, whichever comes first. A function invoked one call at a time thus has its lines
/// in the file when each call returns, and one under load costs a write per batch, not per call.
const BATCH_BYTES: usize = 32 * 1024;
const BATCH_DELAY: Duration = Duration::from_millis(50);

#[derive(Default)]
struct FileState {
    file: Option<File>,
    size: u64,
    /// Lines not yet written (see [`BATCH_BYTES`]).
    batch: String,
    /// Whether a task will write the batch at [`BATCH_DELAY`].
    batch_timer: bool,
    /// Invocations of the function in flight ([`FunctionLog::busy`]).
    busy: u32,
}

/// Counts an invocation of the function as in flight until dropped; the last one to end writes
/// the lines gathered meanwhile.
pub(crate) struct LogBusy(Arc<FunctionLog>);

impl Drop for LogBusy {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.busy = state.busy.saturating_sub(1);
        if state.busy == 0 {
            self.0.write_batch(&mut state);
        }
    }
}

impl Drop for FunctionLog {
    fn drop(&mut self) {
        self.flush();
    }
}

impl FunctionLog {
    fn new(path: PathBuf, limit: u64) -> Self {
        Self {
            path,
            limit: limit.max(1024),
            state: Mutex::new(FileState::default()),
        }
    }

    /// Counts an invocation as in flight (see [`BATCH_BYTES`]).
    pub(crate) fn busy(self: &Arc<Self>) -> LogBusy {
        lock(&self.state).busy += 1;
        LogBusy(self.clone())
    }

    /// Appends `text` (whole lines), at once when no invocation is in flight, otherwise with the
    /// next batch (see [`BATCH_BYTES`]). Writes are small appends to the page cache, done inline
    /// under a mutex: ordering across instances stays by arrival.
    pub(crate) fn append(self: &Arc<Self>, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        if state.busy == 0 && state.batch.is_empty() {
            self.write(&mut state, text);
            return;
        }
        state.batch.push_str(text);
        let batch_limit = BATCH_BYTES.min(usize::try_from(self.limit / 8).unwrap_or(BATCH_BYTES));
        if state.busy == 0 || state.batch.len() >= batch_limit {
            self.write_batch(&mut state);
        } else if !state.batch_timer {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                self.write_batch(&mut state);
                return;
            };
            state.batch_timer = true;
            let log = Arc::downgrade(self);
            runtime.spawn(async move {
                tokio::time::sleep(BATCH_DELAY).await;
                if let Some(log) = log.upgrade() {
                    let mut state = lock(&log.state);
                    state.batch_timer = false;
                    log.write_batch(&mut state);
                }
            });
        }
    }

    /// Writes the gathered lines now.
    fn flush(&self) {
        let mut state = lock(&self.state);
        self.write_batch(&mut state);
    }

    fn write_batch(&self, state: &mut FileState) {
        if state.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut state.batch);
        self.write(state, &batch);
        // Keep the allocation for the next batch.
        state.batch = batch;
        state.batch.clear();
    }

    fn write(&self, state: &mut FileState, text: &str) {
        if let Err(error) = self.append_locked(state, text.as_bytes()) {
            tracing::warn!(path = %self.path.display(), %error, "could not write function log");
            state.file = None;
        }
    }

    fn append_locked(&self, state: &mut FileState, mut bytes: &[u8]) -> io::Result<()> {
        let half = self.limit / 2;
        if state.file.is_none() {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            state.size = file.metadata()?.len();
            state.file = Some(file);
        }
        if state.size + bytes.len() as u64 > half && state.size > 0 {
            state.file = None;
            std::fs::rename(&self.path, rotated(&self.path))?;
            state.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
            state.size = 0;
        }
        if bytes.len() as u64 > half {
            // One write bigger than the whole budget: keep its end.
            let cut = bytes.len() - usize::try_from(half).unwrap_or(bytes.len());
            bytes = &bytes[cut..];
        }
        if let Some(file) = state.file.as_mut() {
            file.write_all(bytes)?;
            state.size += bytes.len() as u64;
        }
        Ok(())
    }
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// The last [`TAIL_BYTES`] of text written since the last reset.
#[derive(Default)]
struct Tail {
    text: String,
}

impl Tail {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        if self.text.len() > 2 * TAIL_BYTES {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.text.len() > TAIL_BYTES {
            let mut cut = self.text.len() - TAIL_BYTES;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }

    fn take(&mut self) -> String {
        self.trim();
        std::mem::take(&mut self.text)
    }
}

/// Captures one instance's output: lines go to the function's log file and into a tail buffer
/// that the current invocation returns when `tail_log` is asked for.
pub(crate) struct OutputCapture {
    log: Arc<FunctionLog>,
    /// A duplicate of the pipe's read end (non-blocking, shared file description) used by
    /// [`drain`](Self::drain) to read without waiting for the reactor.
    raw: File,
    state: Mutex<CaptureState>,
}

#[derive(Default)]
struct CaptureState {
    partial: Vec<u8>,
    /// Tollgate's own lines not yet in the file: they go out with the next output of the
    /// instance or at [`OutputCapture::flush`], so a quiet invocation costs one write, not three.
    pending: String,
    tail: Tail,
    /// [`OutputCapture::drain`]'s read buffer, allocated at the first drain and kept: every
    /// invocation drains, most find the pipe empty.
    scratch: Vec<u8>,
}

impl OutputCapture {
    /// Creates the pipe for an instance. Returns the capture, the receiving end for the reader
    /// task, and the (blocking) writing end to hand to the child as stdout and stderr.
    pub(crate) fn new(log: Arc<FunctionLog>) -> io::Result<(Arc<Self>, pipe::Receiver, OwnedFd)> {
        let (sender, receiver) = pipe::pipe()?;
        let write_end = sender.into_blocking_fd()?;
        // `pipe::pipe` made the read end non-blocking; the duplicate shares that flag.
        let raw = File::from(receiver_fd_clone(&receiver)?);
        let capture = Arc::new(Self {
            log,
            raw,
            state: Mutex::new(CaptureState::default()),
        });
        Ok((capture, receiver, write_end))
    }

    /// Reads the pipe until the instance closes it. Runs as a task per instance.
    pub(crate) async fn run_reader(self: Arc<Self>, receiver: pipe::Receiver) {
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            if receiver.readable().await.is_err() {
                return;
            }
            let mut state = lock(&self.state);
            loop {
                match receiver.try_read(&mut buf) {
                    Ok(0) => {
                        self.flush_partial(&mut state);
                        return;
                    }
                    Ok(n) => self.feed(&mut state, &buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        }
    }

    /// Reads everything already in the pipe, and ends a trailing partial line.
    pub(crate) fn drain(&self) {
        let mut state = lock(&self.state);
        let mut buf = std::mem::take(&mut state.scratch);
        buf.resize(READ_BUFFER, 0);
        loop {
            match (&self.raw).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.feed(&mut state, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // WouldBlock: the pipe is empty.
            }
        }
        state.scratch = buf;
        self.flush_partial(&mut state);
    }

    /// Adds a line of Tollgate's own (`START`, `END`, `REPORT`). It reaches the file before any
    /// later output of the instance, and at the latest at [`flush`](Self::flush).
    /// The line is given in parts, written one after the other (so callers need not join them).
    pub(crate) fn line(&self, parts: &[&str]) {
        let mut state = lock(&self.state);
        for part in parts {
            state.tail.push(part);
            state.pending.push_str(part);
        }
        state.tail.push("\n");
        state.pending.push('\n');
    }

    /// Writes the pending lines of Tollgate's own to the file.
    pub(crate) fn flush(&self) {
        let mut state = lock(&self.state);
        if !state.pending.is_empty() {
            self.log.append(&state.pending);
            state.pending.clear();
        }
    }

    /// Counts an invocation of the instance as in flight, for the function's log (see
    /// [`FunctionLog::busy`]).
    pub(crate) fn busy(&self) -> LogBusy {
        self.log.busy()
    }

    /// Forgets the tail (at the start of a warm invocation; a cold one keeps its init output).
    pub(crate) fn reset_tail(&self) {
        lock(&self.state).tail = Tail::default();
    }

    /// The last 4 KB written since the last reset.
    pub(crate) fn take_tail(&self) -> String {
        lock(&self.state).tail.take()
    }

    fn feed(&self, state: &mut CaptureState, data: &[u8]) {
        state.partial.extend_from_slice(data);
        let Some(last_newline) = state.partial.iter().rposition(|&b| b == b'\n') else {
            if state.partial.len() >= MAX_LINE {
                self.flush_partial(state);
            }
            return;
        };
        let complete: Vec<u8> = state.partial.drain(..=last_newline).collect();
        let text = String::from_utf8_lossy(&complete);
        self.write_output(state, &text);
    }

    /// Output of the instance, after the pending lines of Tollgate's own.
    fn write_output(&self, state: &mut CaptureState, text: &str) {
        if state.pending.is_empty() {
            self.log.append(text);
        } else {
            state.pending.push_str(text);
            self.log.append(&state.pending);
            state.pending.clear();
        }
        state.tail.push(text);
    }

    fn flush_partial(&self, state: &mut CaptureState) {
        if state.partial.is_empty() {
            return;
        }
        let mut text = String::from_utf8_lossy(&state.partial).into_owned();
        state.partial.clear();
        text.push('\n');
        self.write_output(state, &text);
    }
}

impl Drop for OutputCapture {
    fn drop(&mut self) {
        self.flush();
    }
}

fn receiver_fd_clone(receiver: &pipe::Receiver) -> io::Result<OwnedFd> {
    use std::os::fd::AsFd;
    receiver.as_fd().try_clone_to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_4k_on_char_boundaries() {
        let mut tail = Tail::default();
        for _ in 0..3000 {
            tail.push("é");
        }
        tail.push("end\n");
        let t = tail.take();
        assert!(t.len() <= TAIL_BYTES);
        assert!(t.ends_with("end\n"));
    }

    #[tokio::test]
    async fn lines_of_busy_functions_are_batched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.log");
        let log = Arc::new(FunctionLog::new(path.clone(), 1024 * 1024));
        let read = || std::fs::read_to_string(&path).unwrap_or_default();
        log.append("idle\n");
        assert_eq!(read(), "idle\n", "no invocation in flight: written at once");
        let first = log.busy();
        let second = log.busy();
        log.append("a\n");
        log.append("b\n");
        assert_eq!(read(), "idle\n", "gathered while invocations are in flight");
        drop(first);
        assert_eq!(read(), "idle\n");
        drop(second);
        assert_eq!(
            read(),
            "idle\na\nb\n",
            "the last invocation to end writes the batch"
        );

        let _busy = log.busy();
        log.append("late\n");
        tokio::time::sleep(BATCH_DELAY * 3).await;
        assert_eq!(
            read(),
            "idle\na\nb\nlate\n",
            "a long invocation does not hold lines back"
        );
        log.append(&"x".repeat(BATCH_BYTES));
        assert_eq!(
            read().len(),
            14 + BATCH_BYTES,
            "a full batch is written at once"
        );
    }

    #[tokio::test]
    async fn shutdown_writes_what_busy_functions_gathered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = LogRegistry::new(dir.path().to_owned(), 1024 * 1024);
        let log = registry.get("f");
        let _busy = log.busy();
        log.append("gathered\n");
        let read = || std::fs::read_to_string(registry.path("f")).unwrap_or_default();
        assert_eq!(read(), "");
        registry.flush_all();
        assert_eq!(read(), "gathered\n");
    }

    #[test]
    fn log_file_rotates_within_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(FunctionLog::new(dir.path().join("f.log"), 4096));
        for i in 0..1000 {
            log.append(&format!("line {i}\n"));
        }
        let current = std::fs::metadata(dir.path().join("f.log"))
            .expect("log")
            .len();
        let old = std::fs::metadata(dir.path().join("f.log.1"))
            .expect("rotated")
            .len();
        assert!(current + old <= 4096, "{current} + {old}");
        let text = std::fs::read_to_string(dir.path().join("f.log")).expect("read");
        assert!(text.ends_with("line 999\n"));
    }
}

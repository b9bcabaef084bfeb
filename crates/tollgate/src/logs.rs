//! `tollgate logs`: the logs a server keeps in its data directory.
//!
//! - `tollgate logs FUNCTION` (or `--function NAME`): a function's log (START / END / REPORT
//!   lines and what the function printed).
//! - `tollgate logs --api ID [--stage NAME]`: the access logs of an API's stages (all of them
//!   without `--stage`), wherever they go: a stage whose `destinationArn` is mapped to a file
//!   (`[access-log-destinations]`) leaves a pointer to it beside its own log; that file is
//!   read whole, lines of other stages writing to it included. With `--execution`, the
//!   stages' execution logs.
//!
//! `--since 10m` / `1h` / `2d` / an RFC 3339 time keeps the lines from then on, `--follow`
//! keeps printing new lines, `--json` prints one JSON object per line.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;
use tollgate_model::calendar::{civil_from_days, days_from_civil};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The function's name
    #[arg(conflicts_with_all = ["api", "function_flag"])]
    function: Option<String>,
    /// The function's name (the same as the positional argument)
    #[arg(long = "function", conflicts_with = "api")]
    function_flag: Option<String>,
    /// An API's id: print the access logs of its stages
    #[arg(long)]
    api: Option<String>,
    /// Only this stage of the API [default: every stage]
    #[arg(long, requires = "api")]
    stage: Option<String>,
    /// The execution logs of the API's stages instead of their access logs
    #[arg(long, requires = "api")]
    execution: bool,
    /// Only lines from then on: a duration back from now (`30s`, `10m`, `1h`, `2d`) or an
    /// RFC 3339 time (`2026-11-24T13:00:00Z`)
    #[arg(long, value_parser = parse_since)]
    since: Option<SystemTime>,
    /// Keep printing new lines as they are written
    #[arg(long, short = 'f')]
    follow: bool,
    /// One JSON object per line: source, apiId, stage, function, timestamp, message
    #[arg(long)]
    json: bool,
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

/// What a log file holds and whose it is.
#[derive(Debug, Clone)]
struct Source {
    kind: &'static str,
    api_id: Option<String>,
    stage: Option<String>,
    function: Option<String>,
    path: PathBuf,
    /// How far it has been printed.
    offset: u64,
}

impl Source {
    fn what(&self) -> String {
        match (&self.function, &self.api_id, &self.stage) {
            (Some(function), _, _) => format!("function {function}"),
            (_, Some(api), Some(stage)) => format!("stage {stage} of API {api}"),
            _ => self.path.display().to_string(),
        }
    }

    fn stage(kind: &'static str, api: &str, stage: &str, path: PathBuf) -> Self {
        Self {
            kind,
            api_id: Some(api.to_string()),
            stage: Some(stage.to_string()),
            function: None,
            path,
            offset: 0,
        }
    }
}

/// The files to read: one function's, or the access (execution) logs of an API's stages.
fn sources(args: &LogsArgs, data_dir: &Path) -> Result<Vec<Source>, String> {
    if let Some(function) = args.function.as_ref().or(args.function_flag.as_ref()) {
        return Ok(vec![Source {
            kind: "function",
            api_id: None,
            stage: None,
            function: Some(function.clone()),
            path: log_file(data_dir, function),
            offset: 0,
        }]);
    }
    let Some(api) = &args.api else {
        return Err("name a function, or an API (--api ID [--stage NAME])".into());
    };
    let kind = if args.execution {
        "execution"
    } else {
        "access"
    };
    let dir = data_dir.join("logs").join(kind).join(api);
    if let Some(stage) = &args.stage {
        let own = dir.join(format!("{stage}.log"));
        let mapped = mapped_file(&dir, stage);
        // The stage's own file, unless it has only ever logged to a mapped one.
        let mut found = Vec::new();
        if mapped.is_none() || own.exists() {
            found.push(Source::stage(kind, api, stage, own));
        }
        found.extend(mapped.map(|path| Source::stage(kind, api, stage, path)));
        return Ok(found);
    }
    let mut found: Vec<Source> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if let Some(stage) = name.strip_suffix(tollgate_gateway::telemetry::DESTINATION_POINTER)
            {
                let path = mapped_file(&dir, stage)?;
                return Some(Source::stage(kind, api, stage, path));
            }
            let stage = name.strip_suffix(".log")?;
            Some(Source::stage(kind, api, stage, entry.path()))
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    if found.is_empty() && !args.follow {
        return Err(format!(
            "no {kind} logs for API {api} in {}",
            data_dir.display()
        ));
    }
    Ok(found)
}

/// The file a stage's `destinationArn` maps its access log to, from the pointer the server
/// leaves in the stage's log directory (see `tollgate_gateway::telemetry::DESTINATION_POINTER`).
fn mapped_file(dir: &Path, stage: &str) -> Option<PathBuf> {
    let pointer = dir.join(format!(
        "{stage}{}",
        tollgate_gateway::telemetry::DESTINATION_POINTER
    ));
    let text = std::fs::read_to_string(pointer).ok()?;
    let path = text.trim_end_matches(['\n', '\r']);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

pub fn run(args: LogsArgs) -> Result<(), String> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(".tollgate"));
    let mut sources = sources(&args, &data_dir)?;
    let mut stdout = std::io::stdout();
    let mut first = true;
    loop {
        if args.follow && args.api.is_some() && args.stage.is_none() {
            // Stages that start logging while we follow.
            for new in self::sources(&args, &data_dir).unwrap_or_default() {
                if !sources.iter().any(|s| s.path == new.path) {
                    sources.push(new);
                }
            }
        }
        for source in &mut sources {
            let mut out = Vec::new();
            match read_new(source, first, args.since, args.json, &mut out) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.follow => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(format!(
                        "no logs for {} in {}",
                        source.what(),
                        data_dir.display()
                    ));
                }
                Err(e) => return Err(format!("cannot read {}: {e}", source.path.display())),
            }
            stdout.write_all(&out).map_err(|e| e.to_string())?;
        }
        stdout.flush().map_err(|e| e.to_string())?;
        if !args.follow {
            return Ok(());
        }
        first = false;
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Appends to `out` the complete lines of `source` past its offset (on the first read, the
/// rotated `.1` file's too), as filtered by `since`.
fn read_new(
    source: &mut Source,
    first: bool,
    since: Option<SystemTime>,
    json: bool,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut file = std::fs::File::open(&source.path)?;
    let meta = file.metadata()?;
    // A file that shrank was rotated or trimmed: start over.
    if meta.len() < source.offset {
        source.offset = 0;
    }
    let changed_since = since.is_none_or(|t| meta.modified().is_ok_and(|m| m >= t));
    if first && since.is_some() {
        let mut rotated = source.path.clone().into_os_string();
        rotated.push(".1");
        if let Ok(text) = std::fs::read(&rotated) {
            emit(source, &text, since, false, json, out);
        }
    }
    file.seek(SeekFrom::Start(source.offset))?;
    let mut chunk = Vec::new();
    file.read_to_end(&mut chunk)?;
    // Only whole lines; the rest is read once its line ends.
    let whole = chunk.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    source.offset += whole as u64;
    emit(source, &chunk[..whole], since, changed_since, json, out);
    Ok(())
}

/// Writes the lines of `text` that pass `since`: by the time they carry, else (no time in the
/// line) when their file changed since then.
fn emit(
    source: &Source,
    text: &[u8],
    since: Option<SystemTime>,
    changed_since: bool,
    json: bool,
    out: &mut Vec<u8>,
) {
    for line in String::from_utf8_lossy(text).lines() {
        let at = clf_time_in(line);
        let keep = match (since, at) {
            (None, _) => true,
            (Some(since), Some(at)) => at >= since,
            (Some(_), None) => changed_since,
        };
        if !keep {
            continue;
        }
        if json {
            let value = serde_json::json!({
                "source": source.kind,
                "apiId": source.api_id,
                "stage": source.stage,
                "function": source.function,
                "timestamp": at.map(rfc3339),
                "message": line,
            });
            out.extend_from_slice(value.to_string().as_bytes());
        } else {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn at_epoch(secs: i64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
}

fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The first CLF time in a line (`24/Nov/2026:13:11:41 +0000`): what execution-log lines
/// start with and what `$context.requestTime` writes.
fn clf_time_in(line: &str) -> Option<SystemTime> {
    const LEN: usize = "24/Nov/2026:13:11:41 +0000".len();
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(LEN - 1))
        .filter(|&i| bytes[i + 2] == b'/' && bytes[i + 6] == b'/' && bytes[i + 11] == b':')
        .find_map(|i| parse_clf(line.get(i..i + LEN)?))
}

fn parse_clf(text: &str) -> Option<SystemTime> {
    let day = u32::try_from(number(text.get(0..2)?)?).ok()?;
    let month = MONTHS.iter().position(|m| Some(*m) == text.get(3..6))? as u32 + 1;
    let year = number(text.get(7..11)?)?;
    let (h, mi, s) = (
        number(text.get(12..14)?)?,
        number(text.get(15..17)?)?,
        number(text.get(18..20)?)?,
    );
    let sign = match text.get(21..22)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let offset = sign * (number(text.get(22..24)?)? * 3600 + number(text.get(24..26)?)? * 60);
    at_epoch(days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// `2026-11-24T13:11:41Z`.
fn rfc3339(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `--since`: `30s`, `10m`, `1h`, `2d` back from now, or an RFC 3339 time.
fn parse_since(text: &str) -> Result<SystemTime, String> {
    let unit = |c: char| match c {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    };
    if let Some(last) = text.chars().last()
        && let Some(scale) = unit(last)
        && let Some(n) = number(&text[..text.len() - 1])
    {
        return SystemTime::now()
            .checked_sub(Duration::from_secs(n.unsigned_abs() * scale))
            .ok_or_else(|| format!("{text} goes back too far"));
    }
    parse_rfc3339(text).ok_or_else(|| {
        format!("{text:?} is neither a duration (30s, 10m, 1h, 2d) nor an RFC 3339 time")
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (a space for the `T` too).
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, m, day) = (number(d.next()?)?, number(d.next()?)?, number(d.next()?)?);
    let (m, day) = (u32::try_from(m).ok()?, u32::try_from(day).ok()?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = zone[1..].split_once(':')?;
        (c, sign * (number(zh)? * 3600 + number(zm)? * 60))
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.split(':');
    let (h, mi, s) = (number(c.next()?)?, number(c.next()?)?, number(c.next()?)?);
    if c.next().is_some() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    at_epoch(days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(at: SystemTime) -> u64 {
        at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn clf_times_are_found_in_lines() {
        let line = "24/Nov/2026:13:11:41 +0000 (abc) Method completed with status: 200";
        assert_eq!(epoch(clf_time_in(line).unwrap()), 1_795_525_901);
        let access = "127.0.0.1 - - [24/Nov/2026:14:11:41 +0100] \"GET /pets HTTP/1.1\" 200";
        assert_eq!(epoch(clf_time_in(access).unwrap()), 1_795_525_901);
        assert_eq!(clf_time_in("START RequestId: 1 Version: $LATEST"), None);
        assert_eq!(clf_time_in("a/b/c:d"), None);
    }

    #[test]
    fn since_takes_durations_and_rfc3339() {
        let ten_minutes = epoch(parse_since("10m").unwrap());
        let now = epoch(SystemTime::now());
        assert!((now - 601..=now - 599).contains(&ten_minutes));
        assert_eq!(
            epoch(parse_since("2026-11-24T13:11:41Z").unwrap()),
            1_795_525_901
        );
        assert_eq!(
            epoch(parse_since("2026-11-24T14:11:41.250+01:00").unwrap()),
            1_795_525_901
        );
        for bad in [
            "",
            "10",
            "m",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-24T13:11Z",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_round_trips_through_civil_dates() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_525_901);
        assert_eq!(rfc3339(at), "2026-11-24T13:11:41Z");
        assert_eq!(parse_rfc3339(&rfc3339(at)), Some(at));
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}

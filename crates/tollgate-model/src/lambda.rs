//! AWS Lambda functions as the `lambda` service (API version 2015-03-31) describes them: names,
//! qualifiers, ARNs, validation, and the documents the management API keeps in the store.
//!
//! # Store layout
//!
//! The management API writes, and anyone (the data plane included) may read:
//!
//! | scope | kind | id | body |
//! |---|---|---|---|
//! | `"lambda"` ([`SCOPE`]) | [`LAMBDA_FUNCTION`](crate::layout::LAMBDA_FUNCTION) | function name | [`FunctionRecord`]: `$LATEST`, concurrency, policy, tags |
//! | `"lambda:{name}"` ([`function_scope`]) | [`LAMBDA_VERSION`](crate::layout::LAMBDA_VERSION) | `"1"`, `"2"`, ... | [`FunctionVersion`]: a published, immutable snapshot |
//! | `"lambda:{name}"` | [`LAMBDA_ALIAS`](crate::layout::LAMBDA_ALIAS) | alias name | [`Alias`] |
//!
//! Deleting a function deletes its record and the scope `lambda:{name}` in one batch.
//!
//! The runtime (`tollgate_functions::Functions`) knows functions by `(name, qualifier)` where the
//! qualifier is `$LATEST` or a version number, never an alias. To invoke `name:qualifier`:
//! `$LATEST` and digits go to the runtime as they are; anything else is an alias, read as
//! `Key::new(function_scope(name), layout::LAMBDA_ALIAS, qualifier)` and turned into a version
//! with [`Alias::pick_version`] (which honours weighted routing). [`Qualifier::parse`] tells the
//! three apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ModelError;

/// The scope of every function's [`FunctionRecord`].
pub const SCOPE: &str = "lambda";

/// The unpublished version of every function.
pub const LATEST: &str = "$LATEST";

/// Longest function name (the name itself, not an ARN).
pub const MAX_NAME_LEN: usize = 64;
/// Longest alias name.
pub const MAX_ALIAS_LEN: usize = 128;
/// Timeout bounds in seconds; 3 when not given.
pub const TIMEOUT_RANGE: (u32, u32) = (1, 900);
pub const DEFAULT_TIMEOUT: u32 = 3;
/// Memory bounds in MB; 128 when not given.
pub const MEMORY_RANGE: (u32, u32) = (128, 10240);
pub const DEFAULT_MEMORY: u32 = 128;
/// Largest total size of environment variables (names and values), as Lambda counts it.
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;

/// Every runtime identifier of the service model.
pub const RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "nodejs26.x",
    "java8",
    "java8.al2",
    "java8.al2023",
    "java11",
    "java11.al2023",
    "java17",
    "java17.al2023",
    "java21",
    "java25",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "python3.15",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
    "provided",
    "provided.al2",
    "provided.al2023",
];

/// Runtimes that Lambda no longer accepts when a function is created or updated.
pub const DEPRECATED_RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "python2.7",
    "python3.6",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "ruby2.5",
];

/// The scope that holds a function's versions and aliases.
pub fn function_scope(name: &str) -> String {
    format!("{SCOPE}:{name}")
}

/// `arn:aws:lambda:{region}:{account}:function:{name}`.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// The ARN with `:{qualifier}` appended when there is one.
pub fn qualified_arn(region: &str, account: &str, name: &str, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("{}:{q}", function_arn(region, account, name)),
        None => function_arn(region, account, name),
    }
}

/// What a `FunctionName` parameter names: a plain name, `name:qualifier`, a partial ARN
/// (`123456789012:function:name`) or a full ARN, each with an optional qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        let rest = if let Some(arn) = input.strip_prefix("arn:") {
            // arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}]
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            match parts.as_slice() {
                [_, "lambda", _, _, "function", rest] => *rest,
                _ => return Err(bad_function_name(input)),
            }
        } else if let Some((account, rest)) = input.split_once(":function:") {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad_function_name(input));
            }
            rest
        } else {
            input
        };
        let (name, qualifier) = match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        };
        if !valid_name(name, MAX_NAME_LEN) {
            return Err(bad_function_name(input));
        }
        if let Some(q) = qualifier {
            validate_qualifier(q)?;
        }
        Ok(Self {
            name: name.to_string(),
            qualifier: qualifier.map(str::to_string),
        })
    }
}

fn bad_function_name(value: &str) -> ModelError {
    ModelError::Validation(format!(
        "1 validation error detected: Value '{value}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
    ))
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A function name as `CreateFunction` takes it (no ARN forms, no qualifier).
pub fn validate_function_name(name: &str) -> Result<(), ModelError> {
    let parsed = FunctionRef::parse(name)?;
    if parsed.qualifier.is_some() {
        return Err(bad_function_name(name));
    }
    Ok(())
}

/// What a qualifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier<'a> {
    Latest,
    Version(u64),
    Alias(&'a str),
}

impl<'a> Qualifier<'a> {
    /// `None` (no qualifier) and `$LATEST` are [`Qualifier::Latest`]; digits a version; anything
    /// else an alias.
    pub fn parse(qualifier: Option<&'a str>) -> Self {
        match qualifier {
            None | Some(LATEST) => Self::Latest,
            Some(q) => match q.parse::<u64>() {
                Ok(n) if q.bytes().all(|b| b.is_ascii_digit()) => Self::Version(n),
                _ => Self::Alias(q),
            },
        }
    }
}

pub fn validate_qualifier(qualifier: &str) -> Result<(), ModelError> {
    let ok = qualifier == LATEST || valid_name(qualifier, MAX_ALIAS_LEN);
    if ok {
        Ok(())
    } else {
        Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
        )))
    }
}

/// An alias name: the name pattern, and not only digits (that would read as a version).
pub fn validate_alias_name(name: &str) -> Result<(), ModelError> {
    if valid_name(name, MAX_ALIAS_LEN) && !name.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )))
    }
}

/// A permission's statement id.
pub fn validate_statement_id(sid: &str) -> Result<(), ModelError> {
    if valid_name(sid, 100) {
        Ok(())
    } else {
        Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{sid}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        )))
    }
}

/// A runtime of the model's enum that Lambda still accepts for new code.
pub fn validate_runtime(runtime: &str) -> Result<(), ModelError> {
    if !RUNTIMES.contains(&runtime) {
        return Err(ModelError::invalid(format!(
            "Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
            RUNTIMES.join(", ")
        )));
    }
    if DEPRECATED_RUNTIMES.contains(&runtime) {
        return Err(ModelError::invalid(format!(
            "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        )));
    }
    Ok(())
}

fn range_error(field: &str, value: i64, (min, max): (u32, u32)) -> Option<ModelError> {
    let bound = if value < i64::from(min) {
        format!("greater than or equal to {min}")
    } else if value > i64::from(max) {
        format!("less than or equal to {max}")
    } else {
        return None;
    };
    Some(ModelError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value {bound}"
    )))
}

/// A timeout in seconds, 1 to 900.
pub fn validate_timeout(seconds: i64) -> Result<u32, ModelError> {
    match range_error("timeout", seconds, TIMEOUT_RANGE) {
        Some(e) => Err(e),
        None => Ok(seconds as u32),
    }
}

/// A memory size in MB, 128 to 10240.
pub fn validate_memory(mb: i64) -> Result<u32, ModelError> {
    match range_error("memorySize", mb, MEMORY_RANGE) {
        Some(e) => Err(e),
        None => Ok(mb as u32),
    }
}

/// A handler: 1 to 128 characters, no whitespace.
pub fn validate_handler(handler: &str) -> Result<(), ModelError> {
    if handler.len() > 128 || handler.chars().any(char::is_whitespace) {
        return Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{handler}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+"
        )));
    }
    Ok(())
}

/// A description of at most 256 characters.
pub fn validate_description(description: &str) -> Result<(), ModelError> {
    if description.chars().count() > 256 {
        return Err(ModelError::Validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256".into(),
        ));
    }
    Ok(())
}

/// An execution role ARN: `arn:{partition}:iam::{12 digits}:role/{name}`.
pub fn validate_role(role: &str) -> Result<(), ModelError> {
    let valid = role
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":iam::"))
        .and_then(|(_, r)| r.split_once(":role/"))
        .is_some_and(|(account, name)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        });
    if valid {
        Ok(())
    } else {
        Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )))
    }
}

/// Environment variable names (`[a-zA-Z]([a-zA-Z0-9_])+`, not Lambda's reserved ones) and the
/// 4 KB total.
pub fn validate_environment(variables: &BTreeMap<String, String>) -> Result<(), ModelError> {
    const RESERVED: &[&str] = &[
        "_HANDLER",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    ];
    let mut total = 0;
    for (name, value) in variables {
        let mut bytes = name.bytes();
        let pattern_ok = name.len() >= 2
            && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !pattern_ok {
            return Err(ModelError::Validation(format!(
                "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] (key '{name}')"
            )));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(ModelError::invalid(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {name}"
            )));
        }
        total += name.len() + value.len();
    }
    if total > MAX_ENVIRONMENT_BYTES {
        return Err(ModelError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {total}"
        )));
    }
    Ok(())
}

/// Where a version's code is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeInfo {
    /// The unpacked code: relative to the data directory for uploaded zips, absolute for
    /// hot-reload directories.
    pub dir: String,
    /// Whether the code is a hot-reload directory (LocalStack's `S3Bucket: "hot-reload"`).
    #[serde(default)]
    pub hot_reload: bool,
    /// Base64 of the SHA-256 of the zip (of the directory path for hot reload).
    pub sha256: String,
    /// Size of the zip in bytes (0 for hot reload).
    pub size: u64,
}

/// One version of a function's configuration and code: `$LATEST` (inside [`FunctionRecord`]) or a
/// published version (its own document, never changed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionVersion {
    pub name: String,
    /// `$LATEST` or the version number.
    pub version: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    #[serde(default)]
    pub description: String,
    pub timeout: u32,
    pub memory_size: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    pub architectures: Vec<String>,
    pub code: CodeInfo,
    /// `2024-01-01T00:00:00.000+0000`.
    pub last_modified: String,
    pub revision_id: String,
}

impl FunctionVersion {
    /// The `FunctionConfiguration` shape. `qualified` puts the version in `FunctionArn` (as
    /// Lambda does for published versions and in version listings).
    pub fn configuration(&self, region: &str, account: &str, qualified: bool) -> Value {
        let arn = qualified_arn(
            region,
            account,
            &self.name,
            qualified.then_some(self.version.as_str()),
        );
        let mut config = json!({
            "FunctionName": self.name,
            "FunctionArn": arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code.size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code.sha256,
            "Version": self.version,
        });
        if !self.environment.is_empty() {
            config["Environment"] = json!({ "Variables": self.environment });
        }
        let rest = json!({
            "TracingConfig": { "Mode": "PassThrough" },
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": self.architectures,
            "EphemeralStorage": { "Size": 512 },
            "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
            "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", self.name) },
        });
        if let (Value::Object(config), Value::Object(rest)) = (&mut config, rest) {
            config.extend(rest);
        }
        config
    }

    /// Whether two versions have the same code and configuration (what `PublishVersion`
    /// compares before making a new version; a version's description is its own).
    pub fn same_content(&self, other: &Self) -> bool {
        self.runtime == other.runtime
            && self.role == other.role
            && self.handler == other.handler
            && self.timeout == other.timeout
            && self.memory_size == other.memory_size
            && self.environment == other.environment
            && self.code.sha256 == other.code.sha256
    }
}

/// One statement of a function's resource policy, with the qualifier it was added for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatement {
    #[serde(default)]
    pub qualifier: Option<String>,
    pub sid: String,
    /// The statement as `GetPolicy` shows it.
    pub statement: Value,
}

/// What `AddPermission` asks for.
#[derive(Debug, Clone, Default)]
pub struct Permission<'a> {
    pub sid: &'a str,
    pub action: &'a str,
    pub principal: &'a str,
    pub source_arn: Option<&'a str>,
    pub source_account: Option<&'a str>,
    pub principal_org_id: Option<&'a str>,
    pub event_source_token: Option<&'a str>,
    pub function_url_auth_type: Option<&'a str>,
}

impl Permission<'_> {
    /// The IAM statement Lambda writes for this permission on `resource` (a function ARN).
    pub fn statement(&self, resource: &str) -> Value {
        let principal = if self.principal == "*" {
            json!("*")
        } else if self.principal.len() == 12 && self.principal.bytes().all(|b| b.is_ascii_digit()) {
            json!({ "AWS": format!("arn:aws:iam::{}:root", self.principal) })
        } else if self.principal.starts_with("arn:") {
            json!({ "AWS": self.principal })
        } else {
            json!({ "Service": self.principal })
        };
        let mut statement = json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": self.action,
            "Resource": resource,
        });
        let mut condition = serde_json::Map::new();
        let mut string_equals = serde_json::Map::new();
        if let Some(account) = self.source_account {
            string_equals.insert("AWS:SourceAccount".into(), json!(account));
        }
        if let Some(org) = self.principal_org_id {
            string_equals.insert("aws:PrincipalOrgID".into(), json!(org));
        }
        if let Some(token) = self.event_source_token {
            string_equals.insert("lambda:EventSourceToken".into(), json!(token));
        }
        if let Some(auth) = self.function_url_auth_type {
            string_equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
        }
        if !string_equals.is_empty() {
            condition.insert("StringEquals".into(), Value::Object(string_equals));
        }
        if let Some(arn) = self.source_arn {
            condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
        }
        if !condition.is_empty() {
            statement["Condition"] = Value::Object(condition);
        }
        statement
    }
}

/// The policy document `GetPolicy` returns (as a JSON string) for some statements.
pub fn policy_document<'a>(statements: impl IntoIterator<Item = &'a PolicyStatement>) -> Value {
    let statements: Vec<&Value> = statements.into_iter().map(|s| &s.statement).collect();
    json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements })
}

/// A function: its `$LATEST`, and what belongs to the function as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionRecord {
    pub latest: FunctionVersion,
    /// The highest version number published so far (0: none). Numbers are never reused.
    #[serde(default)]
    pub last_version: u64,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    #[serde(default)]
    pub policy: Vec<PolicyStatement>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An alias: a name for a version, optionally sending a share of invocations to a second one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    pub name: String,
    pub function_version: String,
    #[serde(default)]
    pub description: String,
    /// `AdditionalVersionWeights`: version -> share (0.0 to 1.0) of invocations.
    #[serde(default)]
    pub additional_weights: BTreeMap<String, f64>,
    pub revision_id: String,
}

impl Alias {
    /// The version one invocation goes to; `roll` is uniform in `[0, 1)`.
    pub fn pick_version(&self, roll: f64) -> &str {
        let mut threshold = 0.0;
        for (version, weight) in &self.additional_weights {
            threshold += weight;
            if roll < threshold {
                return version;
            }
        }
        &self.function_version
    }

    /// The `AliasConfiguration` shape.
    pub fn configuration(&self, region: &str, account: &str, function: &str) -> Value {
        let mut out = json!({
            "AliasArn": qualified_arn(region, account, function, Some(&self.name)),
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        });
        if !self.additional_weights.is_empty() {
            out["RoutingConfig"] = json!({ "AdditionalVersionWeights": self.additional_weights });
        }
        out
    }
}

/// Checks `AdditionalVersionWeights`: each weight in `[0, 1]`, their sum at most 1, at most one
/// extra version, which must differ from the alias's primary version.
pub fn validate_weights(primary: &str, weights: &BTreeMap<String, f64>) -> Result<(), ModelError> {
    if weights.len() > 1 {
        return Err(ModelError::invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    for (version, weight) in weights {
        if !(0.0..=1.0).contains(weight) {
            return Err(ModelError::Validation(format!(
                "1 validation error detected: Value '{weight}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]"
            )));
        }
        if version == primary {
            return Err(ModelError::invalid(format!(
                "Invalid function version {version}. Function version {version} is already included in routing configuration."
            )));
        }
        if !matches!(Qualifier::parse(Some(version)), Qualifier::Version(_)) {
            return Err(ModelError::invalid(format!(
                "Invalid function version {version}: routing is only supported between published versions"
            )));
        }
    }
    Ok(())
}

/// Milliseconds since the Unix epoch as Lambda writes `LastModified`:
/// `2024-01-01T00:00:00.000+0000`.
pub fn format_timestamp(epoch_millis: i64) -> String {
    let millis = epoch_millis.rem_euclid(1000);
    let seconds = epoch_millis.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = crate::calendar::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}+0000",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// `LastModified` for now.
pub fn now_timestamp() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    format_timestamp(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version() -> FunctionVersion {
        FunctionVersion {
            name: "fn".into(),
            version: LATEST.into(),
            runtime: "python3.12".into(),
            role: "arn:aws:iam::000000000000:role/r".into(),
            handler: "app.handler".into(),
            description: String::new(),
            timeout: DEFAULT_TIMEOUT,
            memory_size: DEFAULT_MEMORY,
            environment: BTreeMap::new(),
            architectures: vec!["x86_64".into()],
            code: CodeInfo {
                dir: "lambda/code/fn/1".into(),
                hot_reload: false,
                sha256: "abc=".into(),
                size: 10,
            },
            last_modified: "2024-01-01T00:00:00.000+0000".into(),
            revision_id: "r1".into(),
        }
    }

    #[test]
    fn function_names_parse_in_every_form() {
        let plain = FunctionRef::parse("my-fn_1").unwrap();
        assert_eq!(plain.name, "my-fn_1");
        assert_eq!(plain.qualifier, None);
        let q = FunctionRef::parse("my-fn:prod").unwrap();
        assert_eq!(q.qualifier.as_deref(), Some("prod"));
        let arn = FunctionRef::parse("arn:aws:lambda:us-east-1:000000000000:function:f:7").unwrap();
        assert_eq!(
            (arn.name.as_str(), arn.qualifier.as_deref()),
            ("f", Some("7"))
        );
        let partial = FunctionRef::parse("000000000000:function:f").unwrap();
        assert_eq!(partial.name, "f");
        let latest = FunctionRef::parse("f:$LATEST").unwrap();
        assert_eq!(latest.qualifier.as_deref(), Some(LATEST));
    }

    #[test]
    fn bad_function_names_are_validation_errors() {
        for bad in [
            "",
            "has space",
            "x".repeat(65).as_str(),
            "arn:aws:s3:::b",
            "f:a b",
        ] {
            assert!(
                matches!(FunctionRef::parse(bad), Err(ModelError::Validation(_))),
                "{bad}"
            );
        }
        assert!(validate_function_name("f:1").is_err());
        assert!(validate_function_name(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn qualifiers_are_latest_versions_or_aliases() {
        assert_eq!(Qualifier::parse(None), Qualifier::Latest);
        assert_eq!(Qualifier::parse(Some("$LATEST")), Qualifier::Latest);
        assert_eq!(Qualifier::parse(Some("12")), Qualifier::Version(12));
        assert_eq!(Qualifier::parse(Some("prod")), Qualifier::Alias("prod"));
        assert_eq!(Qualifier::parse(Some("+1")), Qualifier::Alias("+1"));
    }

    #[test]
    fn aliases_cannot_be_numbers() {
        assert!(validate_alias_name("live").is_ok());
        assert!(validate_alias_name("123").is_err());
        assert!(validate_alias_name("a.b").is_err());
    }

    #[test]
    fn limits_match_lambda() {
        assert_eq!(validate_timeout(1).unwrap(), 1);
        assert_eq!(validate_timeout(900).unwrap(), 900);
        assert!(validate_timeout(0).is_err());
        assert!(validate_timeout(901).is_err());
        assert!(validate_memory(127).is_err());
        assert_eq!(validate_memory(10240).unwrap(), 10240);
        assert!(validate_memory(10241).is_err());
        assert!(validate_runtime("python3.12").is_ok());
        assert!(matches!(
            validate_runtime("python9"),
            Err(ModelError::Invalid(_))
        ));
        assert!(validate_runtime("python2.7").is_err());
        assert!(validate_handler("app.handler").is_ok());
        assert!(validate_handler("a b").is_err());
        assert!(validate_role("arn:aws:iam::000000000000:role/lambda").is_ok());
        assert!(validate_role("not-a-role").is_err());
    }

    #[test]
    fn environment_names_and_size_are_checked() {
        let mut env = BTreeMap::new();
        env.insert("GREETING".to_string(), "hi".to_string());
        assert!(validate_environment(&env).is_ok());
        env.insert("1BAD".to_string(), String::new());
        assert!(validate_environment(&env).is_err());
        let mut reserved = BTreeMap::new();
        reserved.insert("AWS_REGION".to_string(), "x".to_string());
        assert!(validate_environment(&reserved).is_err());
        let mut big = BTreeMap::new();
        big.insert("BIG".to_string(), "x".repeat(5000));
        assert!(validate_environment(&big).is_err());
    }

    #[test]
    fn timestamps_are_lambda_shaped() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000+0000");
        assert_eq!(
            format_timestamp(1_704_067_200_123),
            "2024-01-01T00:00:00.123+0000"
        );
        assert_eq!(
            format_timestamp(951_827_696_000),
            "2000-02-29T12:34:56.000+0000"
        );
    }

    #[test]
    fn configurations_have_the_model_fields() {
        let v = version();
        let config = v.configuration("us-east-1", "000000000000", false);
        assert_eq!(
            config["FunctionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:fn"
        );
        assert_eq!(config["Timeout"], 3);
        assert_eq!(config["MemorySize"], 128);
        assert_eq!(config["State"], "Active");
        assert!(config.get("Environment").is_none());
        let qualified = v.configuration("us-east-1", "000000000000", true);
        assert_eq!(
            qualified["FunctionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST"
        );
    }

    #[test]
    fn alias_routing_follows_weights() {
        let mut alias = Alias {
            name: "live".into(),
            function_version: "1".into(),
            description: String::new(),
            additional_weights: BTreeMap::new(),
            revision_id: "r".into(),
        };
        assert_eq!(alias.pick_version(0.99), "1");
        alias.additional_weights.insert("2".into(), 0.25);
        assert_eq!(alias.pick_version(0.1), "2");
        assert_eq!(alias.pick_version(0.3), "1");
        assert!(validate_weights("1", &alias.additional_weights).is_ok());
        assert!(validate_weights("2", &alias.additional_weights).is_err());
        let mut too_much = BTreeMap::new();
        too_much.insert("2".to_string(), 1.5);
        assert!(validate_weights("1", &too_much).is_err());
    }

    #[test]
    fn permissions_become_iam_statements() {
        let statement = Permission {
            sid: "apigw",
            action: "lambda:InvokeFunction",
            principal: "apigateway.amazonaws.com",
            source_arn: Some("arn:aws:execute-api:us-east-1:000000000000:abc/*"),
            ..Permission::default()
        }
        .statement("arn:aws:lambda:us-east-1:000000000000:function:fn");
        assert_eq!(
            statement["Principal"]["Service"],
            "apigateway.amazonaws.com"
        );
        assert_eq!(
            statement["Condition"]["ArnLike"]["AWS:SourceArn"],
            "arn:aws:execute-api:us-east-1:000000000000:abc/*"
        );
        let account = Permission {
            sid: "a",
            action: "lambda:*",
            principal: "123456789012",
            ..Permission::default()
        }
        .statement("r");
        assert_eq!(
            account["Principal"]["AWS"],
            "arn:aws:iam::123456789012:root"
        );
        assert!(account.get("Condition").is_none());
    }
}

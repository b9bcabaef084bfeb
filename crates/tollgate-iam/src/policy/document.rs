//! A policy document and its evaluation.

use std::net::IpAddr;

use serde_json::Value;

use super::PolicyError;
use super::condition::Condition;
use super::wildcard::Pattern;

/// The outcome of evaluating policies for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching `Deny` statement: nothing can allow the request any more.
    ExplicitDeny,
    /// No statement matched: denied unless something else allows.
    ImplicitDeny,
}

impl Decision {
    /// Combines the decisions of several policies: a deny anywhere wins, then an allow.
    pub fn and(self, other: Decision) -> Decision {
        match (self, other) {
            (Self::ExplicitDeny, _) | (_, Self::ExplicitDeny) => Self::ExplicitDeny,
            (Self::Allow, _) | (_, Self::Allow) => Self::Allow,
            _ => Self::ImplicitDeny,
        }
    }
}

/// What a request is, for policy evaluation.
#[derive(Debug, Clone, Default)]
pub struct RequestContext<'a> {
    /// The caller's ARN (`arn:aws:iam::{account}:user/{name}`); `None` for an anonymous caller.
    pub principal_arn: Option<&'a str>,
    /// The caller's account id.
    pub principal_account: Option<&'a str>,
    /// e.g. `execute-api:Invoke`.
    pub action: &'a str,
    /// e.g. `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets`.
    pub resource: &'a str,
    /// `aws:SourceIp`.
    pub source_ip: Option<IpAddr>,
    /// Further condition keys (`aws:SourceVpce`, `aws:Referer`, ...) and their values.
    pub keys: &'a [(&'a str, &'a str)],
}

impl RequestContext<'_> {
    fn values(&self, key: &str) -> Vec<String> {
        match key {
            "aws:sourceip" => self
                .source_ip
                .map(|ip| ip.to_string())
                .into_iter()
                .collect(),
            "aws:principalarn" => self.principal_arn.map(str::to_string).into_iter().collect(),
            "aws:principalaccount" => self
                .principal_account
                .map(str::to_string)
                .into_iter()
                .collect(),
            "aws:username" => self
                .principal_arn
                .and_then(|arn| arn.rsplit_once(":user/"))
                .map(|(_, name)| name.rsplit('/').next().unwrap_or(name).to_string())
                .into_iter()
                .collect(),
            other => self
                .keys
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(other))
                .map(|(_, v)| v.to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` (and the same for resources and principals).
#[derive(Debug, Clone)]
struct Matcher {
    patterns: Vec<Pattern>,
    negated: bool,
}

impl Matcher {
    fn matches(&self, candidate: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(candidate)) != self.negated
    }
}

/// `Principal` / `NotPrincipal`: `*`, `{"AWS": "*"}`, ARNs, account ids, account roots.
#[derive(Debug, Clone)]
struct Principals {
    anyone: bool,
    arns: Vec<Pattern>,
    accounts: Vec<String>,
    negated: bool,
}

impl Principals {
    fn compile(value: &Value, negated: bool) -> Result<Self, PolicyError> {
        let mut principals = Self {
            anyone: false,
            arns: Vec::new(),
            accounts: Vec::new(),
            negated,
        };
        let aws = match value {
            Value::String(s) if s == "*" => {
                principals.anyone = true;
                return Ok(principals);
            }
            Value::Object(map) => map.get("AWS"),
            _ => return Err(PolicyError("Invalid principal in policy".into())),
        };
        for entry in aws.map(strings).transpose()?.unwrap_or_default() {
            if entry == "*" {
                principals.anyone = true;
            } else if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
                principals.accounts.push(entry);
            } else if let Some(account) = entry
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.strip_suffix(":root"))
            {
                principals.accounts.push(account.to_string());
            } else {
                principals.arns.push(Pattern::new(&entry, false));
            }
        }
        Ok(principals)
    }

    fn matches(&self, context: &RequestContext<'_>) -> bool {
        let matched = self.anyone
            || context.principal_arn.is_some_and(|arn| {
                self.arns.iter().any(|p| p.matches(arn))
                    || context
                        .principal_account
                        .is_some_and(|a| self.accounts.iter().any(|x| x == a))
            });
        matched != self.negated
    }
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    principals: Option<Principals>,
    actions: Matcher,
    resources: Matcher,
    conditions: Vec<Condition>,
}

impl Statement {
    fn applies(&self, context: &RequestContext<'_>) -> bool {
        self.principals.as_ref().is_none_or(|p| p.matches(context))
            && self.actions.matches(context.action)
            && self.resources.matches(context.resource)
            && self
                .conditions
                .iter()
                .all(|c| c.holds(&|key| context.values(key)))
    }
}

/// A compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

impl Policy {
    /// Parses and compiles a policy document (JSON text).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("Invalid policy document: {e}")))?;
        Self::compile(&value)
    }

    /// An API Gateway resource policy: as [`Policy::parse`], with the abbreviated resources
    /// API Gateway accepts (`execute-api:/stage/METHOD/path`) expanded to the API's ARNs.
    pub fn parse_resource_policy(
        text: &str,
        region: &str,
        account_id: &str,
        api_id: &str,
    ) -> Result<Self, PolicyError> {
        let mut value: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("Invalid policy document: {e}")))?;
        let prefix = format!("arn:aws:execute-api:{region}:{account_id}:{api_id}/");
        let expand = |v: &mut Value| {
            if let Value::String(s) = v
                && let Some(rest) = s.strip_prefix("execute-api:/")
            {
                *s = format!("{prefix}{rest}");
            }
        };
        let statements = match value.get_mut("Statement") {
            Some(Value::Array(items)) => items.iter_mut().collect::<Vec<_>>(),
            Some(item) => vec![item],
            None => Vec::new(),
        };
        for statement in statements {
            for field in ["Resource", "NotResource"] {
                match statement.get_mut(field) {
                    Some(Value::Array(items)) => items.iter_mut().for_each(expand),
                    Some(item) => expand(item),
                    None => {}
                }
            }
        }
        Self::compile(&value)
    }

    pub fn compile(document: &Value) -> Result<Self, PolicyError> {
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => return Err(PolicyError("Policy document must have a Statement".into())),
        };
        let statements = statements
            .into_iter()
            .map(compile_statement)
            .collect::<Result<_, _>>()?;
        Ok(Self { statements })
    }

    /// A deny that applies wins; else an allow that applies; else an implicit deny.
    pub fn evaluate(&self, context: &RequestContext<'_>) -> Decision {
        let mut decision = Decision::ImplicitDeny;
        for statement in &self.statements {
            if statement.applies(context) {
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => decision = Decision::Allow,
                }
            }
        }
        decision
    }

    /// Several policies (a user's identity policies) evaluated together.
    pub fn evaluate_all<'p>(
        policies: impl IntoIterator<Item = &'p Policy>,
        context: &RequestContext<'_>,
    ) -> Decision {
        let mut decision = Decision::ImplicitDeny;
        for policy in policies {
            decision = decision.and(policy.evaluate(context));
            if decision == Decision::ExplicitDeny {
                break;
            }
        }
        decision
    }
}

fn compile_statement(statement: &Value) -> Result<Statement, PolicyError> {
    let effect = match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(PolicyError("Statement Effect must be Allow or Deny".into())),
    };
    let principals = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(p), None) => Some(Principals::compile(p, false)?),
        (None, Some(p)) => Some(Principals::compile(p, true)?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(PolicyError(
                "Statement has both Principal and NotPrincipal".into(),
            ));
        }
    };
    let matcher = |positive: &str, negative: &str, ignore_case: bool| {
        let (values, negated) = match (statement.get(positive), statement.get(negative)) {
            (Some(v), None) => (v, false),
            (None, Some(v)) => (v, true),
            _ => {
                return Err(PolicyError(format!(
                    "Statement must have exactly one of {positive} and {negative}"
                )));
            }
        };
        Ok(Matcher {
            patterns: strings(values)?
                .iter()
                .map(|p| Pattern::new(p, ignore_case))
                .collect(),
            negated,
        })
    };
    let actions = matcher("Action", "NotAction", true)?;
    let resources = matcher("Resource", "NotResource", false)?;
    let mut conditions = Vec::new();
    if let Some(block) = statement.get("Condition") {
        let Value::Object(operators) = block else {
            return Err(PolicyError("Condition must be an object".into()));
        };
        for (operator, keys) in operators {
            let Value::Object(keys) = keys else {
                return Err(PolicyError(format!(
                    "Condition {operator} must be an object"
                )));
            };
            for (key, values) in keys {
                conditions.push(Condition::compile(operator, key, values)?);
            }
        }
    }
    Ok(Statement {
        effect,
        principals,
        actions,
        resources,
        conditions,
    })
}

/// A string or a list of strings.
fn strings(value: &Value) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError(format!("Expected a string, got {v}")))
            })
            .collect(),
        other => Err(PolicyError(format!(
            "Expected a string or a list, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::{Allow, ExplicitDeny, ImplicitDeny};

    const API: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123";

    fn context<'a>(resource: &'a str, ip: &str) -> RequestContext<'a> {
        RequestContext {
            principal_arn: Some("arn:aws:iam::123456789012:user/alice"),
            principal_account: Some("123456789012"),
            action: "execute-api:Invoke",
            resource,
            source_ip: ip.parse().ok(),
            keys: &[],
        }
    }

    fn policy(text: &str) -> Policy {
        Policy::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn wildcards_and_deny_wins() {
        let p = policy(&format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": "execute-api:*", "Resource": "{API}/*"}},
                {{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": ["{API}/prod/DELETE/*", "{API}/prod/*/admin*"]}}
            ]}}"#
        ));
        let get = format!("{API}/prod/GET/pets");
        let delete = format!("{API}/prod/DELETE/pets/1");
        let admin = format!("{API}/prod/GET/admin/users");
        let other = "arn:aws:execute-api:us-east-1:123456789012:zzz/prod/GET/pets";
        assert_eq!(p.evaluate(&context(&get, "1.2.3.4")), Allow);
        assert_eq!(p.evaluate(&context(&delete, "1.2.3.4")), ExplicitDeny);
        assert_eq!(p.evaluate(&context(&admin, "1.2.3.4")), ExplicitDeny);
        assert_eq!(p.evaluate(&context(other, "1.2.3.4")), ImplicitDeny);
        let mut other_action = context(&get, "1.2.3.4");
        other_action.action = "execute-api:ManageConnections";
        assert_eq!(p.evaluate(&other_action), Allow);
        other_action.action = "lambda:InvokeFunction";
        assert_eq!(p.evaluate(&other_action), ImplicitDeny);
    }

    #[test]
    fn not_action_and_not_resource() {
        let p = policy(&format!(
            r#"{{"Statement": [
                {{"Effect": "Allow", "NotAction": "execute-api:ManageConnections", "NotResource": "{API}/prod/POST/*"}}
            ]}}"#
        ));
        let get = format!("{API}/prod/GET/pets");
        let post = format!("{API}/prod/POST/pets");
        assert_eq!(p.evaluate(&context(&get, "")), Allow);
        assert_eq!(p.evaluate(&context(&post, "")), ImplicitDeny);
        let mut manage = context(&get, "");
        manage.action = "execute-api:ManageConnections";
        assert_eq!(p.evaluate(&manage), ImplicitDeny);
    }

    #[test]
    fn source_ip_conditions_v4_and_v6() {
        let p = policy(&format!(
            r#"{{"Statement": [
                {{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "{API}/*",
                  "Condition": {{"IpAddress": {{"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}}}}},
                {{"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "{API}/*",
                  "Condition": {{"IpAddress": {{"aws:SourceIp": "192.0.2.66"}}}}}}
            ]}}"#
        ));
        let get = format!("{API}/prod/GET/pets");
        assert_eq!(p.evaluate(&context(&get, "192.0.2.10")), Allow);
        assert_eq!(p.evaluate(&context(&get, "192.0.2.66")), ExplicitDeny);
        assert_eq!(p.evaluate(&context(&get, "198.51.100.1")), ImplicitDeny);
        assert_eq!(p.evaluate(&context(&get, "2001:db8::7")), Allow);
        assert_eq!(p.evaluate(&context(&get, "2001:db9::7")), ImplicitDeny);
        let not_ip = policy(&format!(
            r#"{{"Statement": {{"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "{API}/*",
                 "Condition": {{"NotIpAddress": {{"aws:SourceIp": ["10.0.0.0/8", "::1/128"]}}}}}}}}"#
        ));
        assert_eq!(not_ip.evaluate(&context(&get, "10.1.1.1")), ImplicitDeny);
        assert_eq!(not_ip.evaluate(&context(&get, "::1")), ImplicitDeny);
        assert_eq!(not_ip.evaluate(&context(&get, "8.8.8.8")), ExplicitDeny);
    }

    #[test]
    fn principals_and_string_conditions() {
        let p = policy(&format!(
            r#"{{"Statement": [
                {{"Effect": "Allow", "Principal": {{"AWS": ["arn:aws:iam::123456789012:user/alice", "210987654321"]}},
                  "Action": "execute-api:Invoke", "Resource": "{API}/*"}},
                {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::555555555555:root"}},
                  "Action": "execute-api:Invoke", "Resource": "{API}/*",
                  "Condition": {{"StringLike": {{"aws:Referer": "https://*.example.com/*"}}, "StringEquals": {{"aws:SourceVpce": "vpce-1"}}}}}}
            ]}}"#
        ));
        let get = format!("{API}/prod/GET/pets");
        assert_eq!(p.evaluate(&context(&get, "")), Allow);
        let mut bob = context(&get, "");
        bob.principal_arn = Some("arn:aws:iam::123456789012:user/bob");
        assert_eq!(p.evaluate(&bob), ImplicitDeny);
        bob.principal_arn = Some("arn:aws:iam::210987654321:user/bob");
        bob.principal_account = Some("210987654321");
        assert_eq!(p.evaluate(&bob), Allow);
        let mut anonymous = context(&get, "");
        anonymous.principal_arn = None;
        anonymous.principal_account = None;
        assert_eq!(p.evaluate(&anonymous), ImplicitDeny);
        let keys = [
            ("aws:referer", "https://www.example.com/x"),
            ("aws:SourceVpce", "vpce-1"),
        ];
        let mut third = context(&get, "");
        third.principal_arn = Some("arn:aws:iam::555555555555:user/carol");
        third.principal_account = Some("555555555555");
        third.keys = &keys;
        assert_eq!(p.evaluate(&third), Allow);
        third.keys = &keys[..1];
        assert_eq!(
            p.evaluate(&third),
            ImplicitDeny,
            "every condition must hold"
        );
    }

    #[test]
    fn abbreviated_resource_policies_expand() {
        let p = Policy::parse_resource_policy(
            r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/prod/*"}}"#,
            "us-east-1",
            "123456789012",
            "abc123",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let get = format!("{API}/prod/GET/pets");
        let beta = format!("{API}/beta/GET/pets");
        assert_eq!(p.evaluate(&context(&get, "")), Allow);
        assert_eq!(p.evaluate(&context(&beta, "")), ImplicitDeny);
    }

    #[test]
    fn several_policies_deny_wins() {
        let allow = policy(r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#);
        let deny = policy(
            r#"{"Statement": {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*"}}"#,
        );
        let get = format!("{API}/prod/GET/pets");
        assert_eq!(Policy::evaluate_all([&allow], &context(&get, "")), Allow);
        assert_eq!(
            Policy::evaluate_all([&allow, &deny], &context(&get, "")),
            ExplicitDeny
        );
        assert_eq!(Policy::evaluate_all([], &context(&get, "")), ImplicitDeny);
    }

    #[test]
    fn bad_documents_are_refused() {
        for bad in [
            "not json",
            r#"{"Version": "2012-10-17"}"#,
            r#"{"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": 3, "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bogus": {"k": "v"}}}}"#,
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }
}

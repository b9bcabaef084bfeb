//! The `Condition` block: operators over the request's context keys.

use std::net::IpAddr;

use super::PolicyError;
use super::wildcard::Pattern;

/// A CIDR block (`192.0.2.0/24`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen through an IPv6 socket is `::ffff:a.b.c.d`.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix);
    (a >> shift) == (b >> shift)
}

#[derive(Debug, Clone)]
enum Test {
    StringEquals(Vec<String>),
    StringEqualsIgnoreCase(Vec<String>),
    StringLike(Vec<Pattern>),
    IpAddress(Vec<Cidr>),
}

/// One operator applied to one key, e.g. `"IpAddress": {"aws:SourceIp": [...]}`.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The context key, lower case (keys are case-insensitive).
    key: String,
    test: Test,
    negated: bool,
    if_exists: bool,
}

impl Condition {
    pub fn compile(
        operator: &str,
        key: &str,
        values: &serde_json::Value,
    ) -> Result<Self, PolicyError> {
        let (operator, if_exists) = match operator.strip_suffix("IfExists") {
            Some(op) => (op, true),
            None => (operator, false),
        };
        let values: Vec<String> = match values {
            serde_json::Value::Array(items) => {
                items.iter().map(scalar).collect::<Result<_, _>>()?
            }
            other => vec![scalar(other)?],
        };
        let (negated, test) = match operator {
            "StringEquals" | "StringNotEquals" => {
                (operator == "StringNotEquals", Test::StringEquals(values))
            }
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => (
                operator == "StringNotEqualsIgnoreCase",
                Test::StringEqualsIgnoreCase(values),
            ),
            "StringLike" | "StringNotLike" => (
                operator == "StringNotLike",
                Test::StringLike(values.iter().map(|v| Pattern::new(v, false)).collect()),
            ),
            "IpAddress" | "NotIpAddress" => {
                let cidrs = values
                    .iter()
                    .map(|v| {
                        Cidr::parse(v).ok_or_else(|| {
                            PolicyError(format!("Invalid IP address or CIDR block: {v}"))
                        })
                    })
                    .collect::<Result<_, _>>()?;
                (operator == "NotIpAddress", Test::IpAddress(cidrs))
            }
            other => {
                return Err(PolicyError(format!(
                    "Unsupported condition operator: {other}"
                )));
            }
        };
        Ok(Self {
            key: key.to_ascii_lowercase(),
            test,
            negated,
            if_exists,
        })
    }

    /// `lookup` gives the values of a context key (lower-case name), none when it is absent.
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Vec<String>) -> bool {
        let values = lookup(&self.key);
        if values.is_empty() {
            // Absent keys: `...IfExists` holds, negated operators hold, the others do not.
            return self.if_exists || self.negated;
        }
        let any = values.iter().any(|value| match &self.test {
            Test::StringEquals(wanted) => wanted.iter().any(|w| w == value),
            Test::StringEqualsIgnoreCase(wanted) => {
                wanted.iter().any(|w| w.eq_ignore_ascii_case(value))
            }
            Test::StringLike(patterns) => patterns.iter().any(|p| p.matches(value)),
            Test::IpAddress(cidrs) => value
                .parse::<IpAddr>()
                .is_ok_and(|ip| cidrs.iter().any(|c| c.contains(ip))),
        });
        any != self.negated
    }
}

fn scalar(value: &serde_json::Value) -> Result<String, PolicyError> {
    match value {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(PolicyError(format!("Invalid condition value: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_v4_and_v6() {
        let net = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("192.0.2.1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("10.1.2.3")
                .unwrap()
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(
            !Cidr::parse("10.1.2.3")
                .unwrap()
                .contains("10.1.2.4".parse().unwrap())
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("nope/8"), None);
    }

    #[test]
    fn absent_keys() {
        let none = |_: &str| Vec::new();
        let c =
            |op| Condition::compile(op, "aws:SourceIp", &serde_json::json!("10.0.0.0/8")).unwrap();
        assert!(!c("IpAddress").holds(&none));
        assert!(c("NotIpAddress").holds(&none));
        assert!(c("IpAddressIfExists").holds(&none));
    }

    #[test]
    fn unknown_operators_are_refused() {
        assert!(Condition::compile("NumericLessThan", "k", &serde_json::json!("1")).is_err());
        assert!(Condition::compile("IpAddress", "aws:SourceIp", &serde_json::json!("x")).is_err());
    }
}

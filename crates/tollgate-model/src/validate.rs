//! Checks on input values, with the messages AWS gives when they fail.

use std::collections::BTreeMap;

use crate::ModelError;

/// Longest name Tollgate accepts for REST APIs, stages, models and validators. AWS documents no
/// figure for every one of these; 1024 is our choice, large enough for any real name.
pub const MAX_NAME_LEN: usize = 1024;

pub fn required<T>(field: &str, value: Option<T>) -> Result<T, ModelError> {
    value.ok_or_else(|| ModelError::invalid(format!("{field} must not be null or empty")))
}

pub fn name(field: &str, value: &str) -> Result<(), ModelError> {
    if value.trim().is_empty() {
        return Err(ModelError::invalid(format!("{field} must not be blank")));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(ModelError::invalid(format!(
            "{field} must be at most {MAX_NAME_LEN} characters long"
        )));
    }
    Ok(())
}

/// An enum member; anything else is the `ValidationException` AWS's front end gives.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), ModelError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ModelError::not_in_enum(field, value, allowed))
    }
}

/// `minimumCompressionSize`: 0 to 10485760 bytes.
pub fn compression_size(size: i64) -> Result<(), ModelError> {
    if (0..=10_485_760).contains(&size) {
        Ok(())
    } else {
        Err(ModelError::invalid(
            "Invalid minimum compression size, must be between 0 and 10485760",
        ))
    }
}

/// Tags: at most 50, keys 1-128 characters not starting with `aws:`, values up to 256.
pub fn tags(tags: &BTreeMap<String, String>) -> Result<(), ModelError> {
    if tags.len() > 50 {
        return Err(ModelError::invalid("Too many tags: at most 50 are allowed"));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(ModelError::invalid(format!(
                "Tag key '{key}' must be 1 to 128 characters long"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ModelError::invalid(
                "Tag keys starting with 'aws:' are reserved",
            ));
        }
        if value.chars().count() > 256 {
            return Err(ModelError::invalid(format!(
                "Tag value for '{key}' must be at most 256 characters long"
            )));
        }
    }
    Ok(())
}

/// What a resource's path part is: a literal, a `{name}` variable or a greedy `{name+}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPartKind {
    Literal,
    Variable,
    Greedy,
}

/// Checks a resource's `pathPart` as API Gateway does, and says what kind it is.
///
/// Literals may hold letters, digits and `-._~:@!$&'()*+,;=`; a variable is `{name}` or
/// `{name+}` with a name of letters, digits, `-`, `_` and `.`.
pub fn path_part(part: &str) -> Result<PathPartKind, ModelError> {
    let bad = || {
        ModelError::invalid(format!(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. Invalid path part: {part}"
        ))
    };
    if part.is_empty() || part.len() > 1024 {
        return Err(bad());
    }
    if let Some(inner) = part.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or_else(bad)?;
        let (name, kind) = match inner.strip_suffix('+') {
            Some(name) => (name, PathPartKind::Greedy),
            None => (inner, PathPartKind::Variable),
        };
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        return if ok { Ok(kind) } else { Err(bad()) };
    }
    let ok = part.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | '~'
                    | ':'
                    | '@'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
            )
    });
    if ok {
        Ok(PathPartKind::Literal)
    } else {
        Err(bad())
    }
}

/// Stage names: letters, digits, `-` and `_`, at most 128 characters.
pub fn stage_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ModelError::invalid(
            "Stage name only allows a-zA-Z0-9_- and must be 1 to 128 characters long",
        ))
    }
}

/// Model names: alphanumeric only.
pub fn model_name(name: &str) -> Result<(), ModelError> {
    if name.is_empty() {
        return Err(ModelError::invalid("Model name must be non-empty"));
    }
    if !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ModelError::invalid("Model name must be alphanumeric"))
    }
}

/// A three-digit HTTP status code, as method and integration responses use.
pub fn status_code(code: &str) -> Result<(), ModelError> {
    // The service model's pattern is `[1-5]\d\d`; AWS's front end refuses anything else.
    let ok = code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && (b'1'..=b'5').contains(&code.as_bytes()[0]);
    if ok {
        Ok(())
    } else {
        Err(ModelError::Validation(format!(
            "1 validation error detected: Value '{code}' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parts_are_classified() {
        assert_eq!(path_part("pets"), Ok(PathPartKind::Literal));
        assert_eq!(path_part("{id}"), Ok(PathPartKind::Variable));
        assert_eq!(path_part("{proxy+}"), Ok(PathPartKind::Greedy));
        for bad in ["", "a/b", "{}", "{a", "a}", "{a b}", "pets?", "{+}", "a b"] {
            assert!(path_part(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names_and_codes() {
        assert!(stage_name("dev_1-x").is_ok());
        assert!(stage_name("dev.1").is_err());
        assert!(model_name("Pet1").is_ok());
        assert!(model_name("Pet-1").is_err());
        assert!(status_code("200").is_ok());
        assert!(status_code("20").is_err());
        assert!(status_code("999").is_err());
        assert!(name("name", &"x".repeat(MAX_NAME_LEN + 1)).is_err());
    }
}

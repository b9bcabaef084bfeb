//! Identifiers in the forms API Gateway uses: lowercase letters and digits.

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A random identifier of `len` lowercase alphanumeric characters.
pub fn random_id(len: usize) -> String {
    (0..len)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// REST API ids and root resource ids: 10 characters (`te6si5ach7`).
pub fn long_id() -> String {
    random_id(10)
}

/// Child resource, deployment, model and validator ids: 6 characters (`2jf6xt`).
pub fn short_id() -> String {
    random_id(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_alphanumeric_of_the_asked_length() {
        for len in [6, 10] {
            let id = random_id(len);
            assert_eq!(id.len(), len);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
        }
        assert_ne!(long_id(), long_id());
    }
}

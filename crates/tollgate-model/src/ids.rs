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

/// A request id as AWS's `x-amzn-RequestId`: a random (version 4) UUID.
pub fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    // Where each byte's two digits go, around the dashes.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = *b"00000000-0000-0000-0000-000000000000";
    for (b, at) in bytes.iter().zip(AT) {
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 0x0f)];
    }
    // Only ASCII hex digits and dashes were written.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        for _ in 0..50 {
            let id = request_id();
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.bytes()
                    .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
        }
        assert_ne!(request_id(), request_id());
    }

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

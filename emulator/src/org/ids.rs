//! Salesforce record ids: the 15-character case-sensitive id and its
//! 18-character case-insensitive form.
//!
//! The 18-character form appends three checksum characters encoding which
//! letters of the 15-character id are upper case, so tools that compare ids
//! case-insensitively (Excel, most SQL) still tell them apart. The loader
//! checks fixture ids with it, so a hand-edited `org.toml` cannot carry an
//! 18-character id that a real org would never produce.

/// Alphabet of the checksum characters, indexed by a 5-bit mask.
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Whether `id` is 15 ASCII letters/digits starting with `prefix`.
pub fn is_id15(id: &str, prefix: &str) -> bool {
    id.len() == 15 && id.starts_with(prefix) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 18-character form of a 15-character id (`None` unless 15 alphanumerics).
pub fn to_id18(id15: &str) -> Option<String> {
    if !is_id15(id15, "") {
        return None;
    }
    let mut out = String::with_capacity(18);
    out.push_str(id15);
    for chunk in id15.as_bytes().chunks(5) {
        let mask = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0usize, |m, (i, _)| m | (1 << i));
        out.push(SUFFIX[mask] as char);
    }
    Some(out)
}

/// Checks an 18-character id: right prefix, alphanumeric, right checksum.
/// The error says what the id should have been when only the checksum is off.
pub fn check_id18(id: &str, prefix: &str) -> Result<(), String> {
    if id.len() != 18 || !id.starts_with(prefix) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "`{id}` is not an 18-character id starting with `{prefix}`"
        ));
    }
    match to_id18(&id[..15]) {
        Some(expected) if expected == id => Ok(()),
        Some(expected) => Err(format!(
            "`{id}` has a wrong checksum suffix: the 18-character form of `{}` is `{expected}`",
            &id[..15]
        )),
        None => Err(format!("`{id}` is not a Salesforce id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_convert() {
        // Published examples of the algorithm.
        assert_eq!(to_id18("001A0000006Vm9r").unwrap(), "001A0000006Vm9rIAC");
        assert_eq!(to_id18("003i000000EMrtE").unwrap(), "003i000000EMrtEAAT");
    }

    #[test]
    fn checks_prefix_and_checksum() {
        assert!(check_id18("001A0000006Vm9rIAC", "001").is_ok());
        assert!(check_id18("001A0000006Vm9rIAD", "001")
            .unwrap_err()
            .contains("001A0000006Vm9rIAC"));
        assert!(check_id18("001A0000006Vm9rIAC", "005").is_err());
        assert!(check_id18("001A0000006Vm9r", "001").is_err());
    }
}

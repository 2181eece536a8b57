//! Match keys: how a raw value becomes the string two profiles compare on,
//! per match method and field.
//!
//! `EXACT` compares trimmed, lower-cased text (Data Cloud's exact matching is
//! case-insensitive). `EXACT_NORMALIZED` knows the field: an email is trimmed
//! and lower-cased; a phone becomes E.164 (so `whatsapp:+14155550142`,
//! `(415) 555-0142` and `+1 415-555-0142` are one number); anything else
//! keeps only its letters and digits, lower-cased. Fuzzy criteria compare
//! names, reduced to their lower-cased letters. A value that normalizes to
//! nothing is blank.

use crate::org::identity::MatchMethod;

/// What a field holds, judged by its API name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Email,
    Phone,
    Other,
}

impl FieldKind {
    pub fn of(field: &str) -> FieldKind {
        let f = field.to_ascii_lowercase();
        if f.contains("email") {
            FieldKind::Email
        } else if f.contains("phone") || f.contains("telephone") {
            FieldKind::Phone
        } else {
            FieldKind::Other
        }
    }
}

/// The key of `raw` under `method` for a field of `kind`; `None` when blank.
pub fn key(method: MatchMethod, kind: FieldKind, raw: &str) -> Option<String> {
    let out = match method {
        MatchMethod::Exact => raw.trim().to_lowercase(),
        MatchMethod::ExactNormalized => match kind {
            FieldKind::Email => email(raw),
            FieldKind::Phone => phone(raw).unwrap_or_default(),
            FieldKind::Other => raw
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect(),
        },
        MatchMethod::Fuzzy(_) => name(raw),
    };
    (!out.is_empty()).then_some(out)
}

/// `  Ana.Lee@Example.COM ` → `ana.lee@example.com`.
pub fn email(raw: &str) -> String {
    let t = raw.trim();
    let t = t
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(t, |_| &t[7..]);
    t.trim().to_lowercase()
}

/// A name reduced to its lower-cased letters (`O'Brien` → `obrien`).
pub fn name(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

/// E.164 form of a raw number, for the two countries the fixtures use:
/// `whatsapp:` prefixes and punctuation dropped, `00` read as `+`, a 10-digit
/// number as North American, an 11-digit `0…` number as UK national.
pub fn phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let body = match trimmed.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("whatsapp:") => &trimmed[9..],
        _ => trimmed,
    };
    let body = match body.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => &body[4..],
        _ => body,
    };
    let plus = body.trim_start().starts_with('+');
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let e164 = if plus {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if digits.len() == 11 && digits.starts_with('0') {
        format!("+44{}", &digits[1..])
    } else if digits.len() == 10 {
        format!("+1{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') {
        format!("+{digits}")
    } else {
        return None;
    };
    (e164.len() >= 11 && e164.len() <= 16).then_some(e164)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::identity::Precision;

    #[test]
    fn phones_from_every_channel_meet() {
        for raw in [
            "whatsapp:+14155550142",
            "(415) 555-0142",
            "+1 415-555-0142",
            "1 (415) 555-0142",
            "415.555.0142",
            "tel:+14155550142",
        ] {
            assert_eq!(phone(raw).as_deref(), Some("+14155550142"), "{raw}");
        }
        assert_eq!(phone("07700 900123").as_deref(), Some("+447700900123"));
        assert_eq!(phone("0044 7700 900123").as_deref(), Some("+447700900123"));
        assert_eq!(phone("junk"), None);
    }

    #[test]
    fn keys_per_method() {
        let en = MatchMethod::ExactNormalized;
        assert_eq!(
            key(en, FieldKind::Email, " Ana.Lee@EXAMPLE.com ").as_deref(),
            Some("ana.lee@example.com")
        );
        assert_eq!(key(en, FieldKind::Phone, "n/a"), None);
        assert_eq!(
            key(MatchMethod::Exact, FieldKind::Other, " Lee ").as_deref(),
            Some("lee")
        );
        assert_eq!(
            key(
                MatchMethod::Fuzzy(Precision::Medium),
                FieldKind::Other,
                "O'Brien"
            )
            .as_deref(),
            Some("obrien")
        );
        assert_eq!(key(MatchMethod::Exact, FieldKind::Other, "   "), None);
        assert_eq!(FieldKind::of("ssot__TelephoneNumber__c"), FieldKind::Phone);
        assert_eq!(FieldKind::of("ssot__EmailAddress__c"), FieldKind::Email);
    }
}

//! Phone numbers as people type them, and the E.164 form identity resolution
//! matches on.
//!
//! Only fictional ranges are used: North American `555-01xx` lines and the
//! UK's `07700 900xxx` drama block. Raw spellings mix CRM habits
//! (`(415) 555-0142`) with what messaging channels hand over: WhatsApp's
//! display form (`+1 415-555-0142`, `+44 7700 900123`) and the
//! `whatsapp:+14155550142` addresses of messaging gateways.

/// A canonical number (`+14155550142`) written one of several ways; `style`
/// picks the way (any value; it wraps).
pub fn render(e164: &str, style: u64) -> String {
    let digits = &e164[1..];
    if let Some(national) = digits.strip_prefix('1') {
        let (area, exchange, line) = (&national[..3], &national[3..6], &national[6..]);
        match style % 7 {
            0 => format!("({area}) {exchange}-{line}"),
            1 => format!("{area}-{exchange}-{line}"),
            2 => format!("+1 {area}-{exchange}-{line}"),
            3 => format!("+1{area}{exchange}{line}"),
            4 => format!("whatsapp:+1{area}{exchange}{line}"),
            5 => format!("{area}.{exchange}.{line}"),
            _ => format!("1 ({area}) {exchange}-{line}"),
        }
    } else {
        let national = &digits[2..];
        let (a, b) = (&national[..4], &national[4..]);
        match style % 5 {
            0 => format!("+44 {a} {b}"),
            1 => format!("0{a} {b}"),
            2 => format!("0044 {a} {b}"),
            3 => format!("whatsapp:+44{a}{b}"),
            _ => format!("+44{a}{b}"),
        }
    }
}

/// How a WhatsApp channel hands a number over: a gateway address
/// (`whatsapp:+14155550142`) or WhatsApp's display form (`+1 415-555-0142`).
pub fn whatsapp(e164: &str, address: bool) -> String {
    if address {
        format!("whatsapp:{e164}")
    } else if e164.starts_with("+1") {
        render(e164, 2)
    } else {
        render(e164, 0)
    }
}

/// E.164 form of a raw number: identity resolution's own normalization
/// (`identity::normalize::phone`), so generated E.164 values and matching agree.
pub fn normalize(raw: &str) -> Option<String> {
    crate::identity::normalize::phone(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_style_normalizes_back() {
        for e164 in ["+14155550142", "+447700900123"] {
            for style in 0..14 {
                let raw = render(e164, style);
                assert_eq!(normalize(&raw).as_deref(), Some(e164), "{raw}");
            }
        }
    }

    #[test]
    fn whatsapp_forms() {
        assert_eq!(render("+14155550142", 4), "whatsapp:+14155550142");
        assert_eq!(render("+14155550142", 2), "+1 415-555-0142");
        assert_eq!(render("+447700900123", 0), "+44 7700 900123");
        assert_eq!(normalize("junk"), None);
    }
}

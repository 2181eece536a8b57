//! The generated source records rendered as the CSV files of `rows/`: one
//! function per object, columns in model order, `None` as an empty cell
//! (NULL). The unified objects come from the identity engine instead.

use super::{phone, Dice, Source};

/// `2024-03-22T05:47:10.000Z` for Unix milliseconds.
fn timestamp(millis: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        millis.rem_euclid(1000)
    )
}

/// CSV text from a header and rows of optional cells (`None` = empty = NULL).
fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<Option<String>>>) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| c.as_deref().unwrap_or("")));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub(super) fn individuals(sources: &[Source]) -> String {
    let header = [
        "ssot__Id__c",
        "KQ_Id__c",
        "ssot__FirstName__c",
        "ssot__LastName__c",
        "ssot__BirthDate__c",
        "ssot__YearlyIncome__c",
        "ssot__ChildrenCount__c",
        "ssot__HasOptedOutTracking__c",
        "ssot__DataSourceId__c",
        "ssot__DataSourceObjectId__c",
        "ssot__CreatedDate__c",
        "ssot__LastModifiedDate__c",
    ];
    csv(
        &header,
        sources.iter().map(|s| {
            vec![
                Some(s.id.clone()),
                Some(s.origin.2.to_owned()),
                s.first.clone(),
                s.last.clone(),
                s.birth.clone(),
                s.income.map(|v| format!("{v}.00")),
                s.children.map(|v| v.to_string()),
                s.opted_out.map(|v| v.to_string()),
                Some(s.origin.0.to_owned()),
                Some(s.origin.1.to_owned()),
                Some(timestamp(s.created)),
                Some(timestamp(s.modified)),
            ]
        }),
    )
}

pub(super) fn emails(dice: &mut Dice, sources: &[Source]) -> String {
    let header = [
        "ssot__Id__c",
        "ssot__EmailAddress__c",
        "ssot__PartyId__c",
        "ssot__DataSourceId__c",
        "ssot__DataSourceObjectId__c",
        "ssot__CreatedDate__c",
        "ssot__LastModifiedDate__c",
    ];
    let rows: Vec<_> = sources
        .iter()
        .filter_map(|s| {
            let email = s.email.clone()?;
            Some(vec![
                Some(dice.hex(32)),
                Some(email),
                Some(s.id.clone()),
                Some(s.origin.0.to_owned()),
                Some(s.origin.1.to_owned()),
                Some(timestamp(s.created)),
                Some(timestamp(s.modified)),
            ])
        })
        .collect();
    csv(&header, rows)
}

pub(super) fn phones(dice: &mut Dice, sources: &[Source]) -> String {
    let header = [
        "ssot__Id__c",
        "ssot__TelephoneNumber__c",
        "ssot__FormattedE164PhoneNumber__c",
        "ssot__IsSMSCapable__c",
        "ssot__PartyId__c",
        "ssot__DataSourceId__c",
        "ssot__DataSourceObjectId__c",
        "ssot__CreatedDate__c",
        "ssot__LastModifiedDate__c",
    ];
    let rows: Vec<_> = sources
        .iter()
        .filter_map(|s| {
            let raw = s.phone.clone()?;
            let mobile = raw.contains("7700") || raw.starts_with("whatsapp:");
            Some(vec![
                Some(dice.hex(32)),
                Some(raw.clone()),
                phone::normalize(&raw),
                Some(mobile.to_string()),
                Some(s.id.clone()),
                Some(s.origin.0.to_owned()),
                Some(s.origin.1.to_owned()),
                Some(timestamp(s.created)),
                Some(timestamp(s.modified)),
            ])
        })
        .collect();
    csv(&header, rows)
}

//! The guide's "Real-Time Identity Resolution Example": a lead writes on
//! WhatsApp, Bridged writes the lead to Data Cloud, and identity resolution
//! "matches the WhatsApp phone number to existing customer records, creates
//! or updates the Unified Individual profile, makes the unified data
//! available for subsequent interactions". Here through the gateway: the
//! next interaction's query finds the CRM contact's unified profile from the
//! WhatsApp lead's id, with no ruleset run requested by anyone.

use dc_emulator::EmulatorConfig;
use dc_tests::{wait_for, StackEnv};
use serde_json::json;

use crate::support::{rows, LEADS};

const LEAD_ID: &str = "wa-lead-1";

#[tokio::test(flavor = "multi_thread")]
async fn a_whatsapp_lead_joins_the_crm_contacts_unified_profile() {
    let env = StackEnv::start(EmulatorConfig::default(), "").await;

    // A CRM contact alone in its unified profile (so its phone is nobody
    // else's: phones are a match rule), with a North American number.
    let contact = env
        .query(
            "SELECT l.UnifiedRecordId__c, p.ssot__FormattedE164PhoneNumber__c, \
                    i.ssot__FirstName__c, i.ssot__LastName__c \
             FROM ssot__Individual__dlm i \
             JOIN ssot__ContactPointPhone__dlm p ON p.ssot__PartyId__c = i.ssot__Id__c \
             JOIN IndividualIdentityLink__dlm l ON l.SourceRecordId__c = i.ssot__Id__c \
             WHERE i.ssot__DataSourceId__c = 'SalesforceCRM_Home' \
               AND i.ssot__FirstName__c IS NOT NULL AND i.ssot__LastName__c IS NOT NULL \
               AND p.ssot__FormattedE164PhoneNumber__c LIKE '+1%' \
               AND (SELECT COUNT(*) FROM IndividualIdentityLink__dlm l2 \
                    WHERE l2.UnifiedRecordId__c = l.UnifiedRecordId__c) = 1 \
             ORDER BY i.ssot__Id__c LIMIT 1",
            &[],
        )
        .await;
    let contact = rows(&contact);
    assert_eq!(contact.len(), 1, "the default org has such a contact");
    let unified = contact[0][0].clone();
    let e164 = contact[0][1].as_str().expect("a phone").to_owned();
    let (first, last) = (contact[0][2].clone(), contact[0][3].clone());

    // The lead writes on WhatsApp: Bridged knows only the number, in
    // WhatsApp's display form, and writes the lead through the gateway.
    let n = e164.strip_prefix("+1").expect("a North American number");
    let phone = format!("+1 {}-{}-{}", &n[..3], &n[3..6], &n[6..]);
    let lead = json!({"lead_id": LEAD_ID, "first_name": null, "last_name": null, "email": null,
                      "phone": phone, "channel": "whatsapp", "updated_at": null});
    let resp = env.ingest(LEADS, &[lead]).await;
    assert_eq!(resp.status, 202, "{}", resp.text());

    // The next interaction: who is this lead? The same query until the
    // record has landed and resolved (no-cache: an earlier empty answer must
    // not be served from the gateway's cache).
    let who = format!(
        "SELECT u.IndividualId, u.FirstName, u.LastName FROM IndividualIdentityLink__dlm l \
         JOIN UnifiedIndividual u ON u.IndividualId = l.UnifiedRecordId__c \
         WHERE l.SourceRecordId__c = '{LEAD_ID}'"
    );
    let profile = wait_for("the WhatsApp lead to resolve", || async {
        let found = rows(&env.query(&who, &[("cache-control", "no-cache")]).await);
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(
        profile,
        [json!([unified, first, last])],
        "the CRM contact's profile, its names kept (the lead has none)"
    );

    // The cluster now holds both sources; nobody asked for a ruleset run.
    let members = env
        .query(
            &format!(
                "SELECT SourceRecordId__c FROM IndividualIdentityLink__dlm \
                 WHERE UnifiedRecordId__c = '{}' ORDER BY SourceRecordId__c",
                unified.as_str().unwrap_or("")
            ),
            &[],
        )
        .await;
    let members = rows(&members);
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.contains(&json!([LEAD_ID])), "{members:?}");
    let runs = env
        .journal("path=/services/data/*/ssot/identity-resolutions/*")
        .await;
    assert!(runs.is_empty(), "{runs:?}");
}

//! The integration guide's "Common Use Cases" playbooks as end-to-end
//! scenarios: an app talks to the gateway only (it sends no Salesforce
//! credentials), the gateway talks to the emulator over real TLS, and faults
//! and delays are injected at the emulator through its test-control API.
//!
//! * `qualification`: read a lead's unified profile and engagement history,
//!   write a `lead_qualified` event, read it back — through the query cache
//!   and across the ingestion processing delay;
//! * `nurture`: conversation outcomes and lead scores in requests of more
//!   than 50 records, split by the gateway, with 429 and 500 faults;
//! * `activation`: unified profiles read in pages, with 503s and rate limits;
//! * `identity`: the guide's real-time identity resolution example — a
//!   WhatsApp lead's phone joins the CRM contact's unified profile.

#[path = "playbooks/activation.rs"]
mod activation;
#[path = "playbooks/identity.rs"]
mod identity;
#[path = "playbooks/nurture.rs"]
mod nurture;
#[path = "playbooks/qualification.rs"]
mod qualification;
#[path = "playbooks/support.rs"]
mod support;

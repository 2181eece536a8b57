//! Verification of JWT bearer assertions, as Salesforce does it.

//! `serve --emulator`: the emulator started in-process with its default org,
//! and the gateway pointed at it with that org's credentials — one command
//! for a working local Data Cloud endpoint.
//!
//! The default org's test-only private key is compiled in (`include_str!`)
//! so the binary works from any directory; the emulator's generated
//! certificate becomes the gateway's extra upstream CA.

use dc_emulator::{Emulator, EmulatorConfig};
use tokio::net::TcpListener;

use crate::config::raw::RawConfig;
use crate::config::{Secret, Secrets};

/// Consumer key of the default org's connected app.
pub const CLIENT_ID: &str = "emulator-client-id";
/// The default org's integration user.
pub const USERNAME: &str = "integration_user@yourcompany.com";
/// The default org's TEST-ONLY private key (public on purpose).
pub const PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/default/host.key");

/// Starts the emulator on an ephemeral loopback port.
pub async fn start_emulator() -> Result<Emulator, dc_emulator::StartError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Emulator::start(EmulatorConfig::default(), listener).await
}

/// Points `raw` at the emulator (`login_url`) with the default org's
/// credentials; other settings (listen address, timeouts, clients) stay.
pub fn apply(raw: &mut RawConfig, secrets: &mut Secrets, login_url: &str) {
    raw.upstream.login_url = Some(login_url.to_owned());
    raw.upstream.ca_cert = None;
    let c = &mut raw.credentials;
    c.flow = Some("jwt_bearer".to_owned());
    c.client_id = Some(CLIENT_ID.to_owned());
    c.username = Some(USERNAME.to_owned());
    c.private_key_file = None;
    c.certificate_file = None;
    secrets.private_key_pem = Some(Secret::new(PRIVATE_KEY_PEM));
}

//! `dc-gateway jwt`: prints the JWT bearer assertion the gateway would send
//! (RS256; `iss` consumer key, `sub` username, `aud` login URL), like the
//! integration guide's Step 5 Node script but with an `exp` inside
//! Salesforce's three minutes instead of ten years.
//!
//! Signing is `auth/assertion.rs`'s, with the configuration `serve` uses;
//! `--emulator` takes the default org's client id, user and test-only key so
//! `ASSERTION=$(dc-gateway jwt --emulator --login-url https://127.0.0.1:9443)`
//! works with no configuration. Only the assertion goes to stdout.

use std::process::ExitCode;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::auth::assertion::KeyError;
use crate::cli::JwtArgs;
use crate::config::{self, Flow, GatewayConfig};

/// Salesforce's ceiling on `exp - now`.
pub const MAX_TTL: Duration = Duration::from_secs(180);

/// Login URL of `jwt --emulator` without `--login-url`: the stand-alone
/// emulator's default address.
pub const EMULATOR_LOGIN_URL: &str = "https://127.0.0.1:9443";

/// Why no assertion could be made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("credentials.flow is {0}: only the jwt_bearer flow signs an assertion")]
    NotJwtFlow(&'static str),
    #[error("exp must be 1 to 180 seconds from now (Salesforce's 3 minutes), got {0} s")]
    Ttl(u64),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Signs the configured app and user's assertion for the configured login
/// URL, valid `ttl` from now.
pub fn assertion(config: &GatewayConfig, ttl: Duration) -> Result<String, JwtError> {
    let Flow::JwtBearer {
        client_id,
        username,
        key,
    } = &config.credentials.flow
    else {
        return Err(JwtError::NotJwtFlow(config.credentials.flow.step()));
    };
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(JwtError::Ttl(ttl.as_secs()));
    }
    Ok(key.sign(client_id, username, &config.upstream.login_url, ttl)?)
}

/// The claims of an encoded JWT (not verified: for display and tests).
pub fn claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `jwt` command: 0 with the assertion on stdout, 2 with the reason on
/// stderr.
pub fn command(args: &JwtArgs) -> ExitCode {
    let emulator_login = args.emulator.then(|| {
        args.config
            .override_of("upstream.login_url")
            .unwrap_or(EMULATOR_LOGIN_URL)
            .to_owned()
    });
    let loaded = args
        .config
        .load(emulator_login.as_deref())
        .and_then(|(raw, base, secrets)| config::validate(raw, &base, &secrets));
    let config = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dc-gateway jwt: {e}");
            return ExitCode::from(2);
        }
    };
    let ttl = args
        .exp_seconds
        .map_or(config.credentials.assertion_ttl, Duration::from_secs);
    match assertion(&config, ttl) {
        Ok(jwt) => {
            println!("{jwt}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dc-gateway jwt: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, Secrets};
    use std::path::Path;

    fn config(extra: &str) -> GatewayConfig {
        let text = format!(
            "[upstream]\nlogin_url = \"https://login.example/\"\n[credentials]\nclient_id = \"cid\"\nusername = \"u@x\"\n{extra}"
        );
        let secrets = Secrets {
            private_key_pem: Some(Secret::new(crate::embedded::PRIVATE_KEY_PEM)),
            ..Secrets::default()
        };
        GatewayConfig::from_toml_str(&text, Path::new("."), &secrets).unwrap()
    }

    #[test]
    fn assertion_has_the_configured_claims() {
        let jwt = assertion(&config(""), Duration::from_secs(60)).unwrap();
        let c = claims(&jwt).unwrap();
        assert_eq!(c["iss"], "cid");
        assert_eq!(c["sub"], "u@x");
        assert_eq!(c["aud"], "https://login.example");
        let (exp, iat) = (c["exp"].as_u64().unwrap(), c["iat"].as_u64().unwrap());
        assert_eq!(exp - iat, 60);
    }

    #[test]
    fn ttl_is_capped_at_three_minutes() {
        let c = config("");
        assert!(matches!(
            assertion(&c, Duration::from_secs(181)),
            Err(JwtError::Ttl(181))
        ));
        assert!(matches!(
            assertion(&c, Duration::ZERO),
            Err(JwtError::Ttl(0))
        ));
        assert!(assertion(&c, MAX_TTL).is_ok());
    }
}

//! Command line of `dc-gateway`: `serve` (with one flag per configuration
//! key, each also readable from its `DCGW_*` variable); `check` and `jwt`,
//! which read the same configuration (`--config`, the same flags and
//! variables); and `keygen`.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, Parser, Subcommand};

use crate::config::keys::{Kind, KEYS};
use crate::config::raw::RawConfig;
use crate::config::{self, ConfigError, Origin, Override, Secrets};

/// A local HTTPS gateway for Salesforce Data Cloud.
#[derive(Debug, Parser)]
#[command(name = "dc-gateway", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command_,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command_ {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Test the connection step by step (the integration guide's Step 10):
    /// key, JWT, core token, a360 exchange, test query, optional test ingest.
    /// Exit status 0 only when every step passes.
    Check(CheckArgs),
    /// Print a signed JWT bearer assertion for the configured app and user
    /// (stdout carries the assertion only).
    Jwt(JwtArgs),
    /// Write a 2048-bit RSA private key and a self-signed certificate to
    /// upload to the connected app (the guide's Step 1); or, with
    /// `--api-key`, print a client API key and its SHA-256.
    Keygen(KeygenArgs),
}

/// The configuration `check` and `jwt` read, as `serve` does.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "DCGW_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: KeyOverrides,
}

impl ConfigArgs {
    /// The value given by flag or environment for the key `name`.
    pub fn override_of(&self, name: &str) -> Option<&str> {
        self.overrides
            .0
            .iter()
            .find(|o| o.key.name == name)
            .map(|o| o.value.as_str())
    }

    /// Stage one of the configuration (file, flags, environment, secrets
    /// from the environment). With `emulator_login`, the default emulator
    /// org's credentials and that login URL replace the file's; a client id,
    /// username or private key file given by flag or environment still wins,
    /// so `check --emulator --username …` tries another user of that org.
    pub fn load(
        &self,
        emulator_login: Option<&str>,
    ) -> Result<(RawConfig, PathBuf, Secrets), ConfigError> {
        let (mut raw, base) = config::read_raw(self.config.as_deref(), &self.overrides.0)?;
        let mut secrets = Secrets::from_env();
        if let Some(login) = emulator_login {
            crate::embedded::apply(&mut raw, &mut secrets, login);
            let c = &mut raw.credentials;
            if let Some(v) = self.override_of("credentials.client_id") {
                c.client_id = Some(v.to_owned());
            }
            if let Some(v) = self.override_of("credentials.username") {
                c.username = Some(v.to_owned());
            }
            if let Some(v) = self.override_of("credentials.private_key_file") {
                c.private_key_file = Some(PathBuf::from(v));
                secrets.private_key_pem = None;
            }
        }
        Ok((raw, base, secrets))
    }
}

/// `check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Check against an embedded emulator with its default org (no set-up).
    #[arg(long)]
    pub emulator: bool,
    /// Also ingest one test EngagementEvent (expects 202 Accepted).
    #[arg(long)]
    pub ingest: bool,
    /// Ingestion API source (connector) of the test event.
    #[arg(long, value_name = "NAME", default_value = crate::check::DEFAULT_INGEST_SOURCE)]
    pub ingest_source: String,
    /// The test query.
    #[arg(long, value_name = "SQL", default_value = crate::check::GUIDE_SQL)]
    pub sql: String,
}

/// `jwt` flags.
#[derive(Debug, Args)]
pub struct JwtArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Use the default emulator org's client id, user and test-only key;
    /// `aud` is `--login-url` (default https://127.0.0.1:9443).
    #[arg(long)]
    pub emulator: bool,
    /// `exp` = now + this (default: credentials.assertion_ttl_secs).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=180))]
    pub exp_seconds: Option<u64>,
}

/// `keygen` flags.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for host.key and host.crt (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present = "api_key")]
    pub out: Option<PathBuf>,
    /// Instead: print a random API key (or client secret) for a
    /// `[[clients]]` entry and the SHA-256 to put in the configuration.
    #[arg(long, conflicts_with_all = ["out", "cn", "days", "force"])]
    pub api_key: bool,
    /// Common name of the certificate's subject.
    #[arg(long, value_name = "NAME", default_value = crate::keygen::DEFAULT_CN)]
    pub cn: String,
    /// Validity of the certificate in days.
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "DCGW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Validate the configuration (files, keys, certificates) and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Start the emulator in-process and use its default org's credentials.
    #[arg(long)]
    pub emulator: bool,
    #[command(flatten)]
    pub overrides: KeyOverrides,
}

/// One flag per configuration key (see `config/keys.rs`).
#[derive(Debug, Default, Clone)]
pub struct KeyOverrides(pub Vec<Override>);

impl FromArgMatches for KeyOverrides {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = Vec::new();
        for key in KEYS {
            if let Some(value) = m.get_one::<String>(key.name) {
                let origin = match m.value_source(key.name) {
                    Some(ValueSource::EnvVariable) => Origin::Env,
                    _ => Origin::Flag,
                };
                out.push(Override {
                    key,
                    value: value.clone(),
                    origin,
                });
            }
        }
        Ok(KeyOverrides(out))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for KeyOverrides {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(KEYS.iter().map(|k| {
            let arg = Arg::new(k.name)
                .long(k.flag)
                .env(k.env)
                .help(k.doc)
                .help_heading("Configuration keys (flag > DCGW_* env > file > default)")
                .action(ArgAction::Set);
            match k.kind {
                Kind::Bool => arg
                    .value_name("BOOL")
                    .num_args(0..=1)
                    .default_missing_value("true"),
                Kind::Int => arg.value_name("N"),
                Kind::Float => arg.value_name("X"),
                Kind::Path => arg.value_name("PATH"),
                Kind::Str => arg.value_name("TEXT"),
            }
        }))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_overrides() {
        let cli = Cli::try_parse_from([
            "dc-gateway",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--login-url",
            "https://x.example",
            "--upstream-insecure-skip-verify",
        ])
        .unwrap();
        let Command_::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let o: Vec<(&str, &str)> = args
            .overrides
            .0
            .iter()
            .map(|o| (o.key.name, o.value.as_str()))
            .collect();
        assert!(o.contains(&("server.listen", "127.0.0.1:0")));
        assert!(o.contains(&("upstream.login_url", "https://x.example")));
        assert!(o.contains(&("upstream.insecure_skip_verify", "true")));
    }

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

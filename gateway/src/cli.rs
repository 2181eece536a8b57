//! Command line of `dc-gateway`: `serve` (with one flag per configuration
//! key, each also readable from its `DCGW_*` variable), and the `check`,
//! `jwt` and `keygen` subcommands (not yet implemented).

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, Parser, Subcommand};

use crate::config::keys::{Kind, KEYS};
use crate::config::{Origin, Override};

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
    /// Check connectivity and credentials against the upstream org.
    Check(StubArgs),
    /// Print a signed JWT bearer assertion for the configured credentials.
    Jwt(StubArgs),
    /// Generate an API key or client secret and its SHA-256 for the config.
    Keygen(StubArgs),
}

/// Arguments of a subcommand that is not implemented yet.
#[derive(Debug, Args)]
pub struct StubArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
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

//! The `check` command line: load the configuration as `serve` does (or
//! start an embedded emulator for `--emulator`), run the steps, print the
//! report, exit 0 only when every step passed (1 otherwise).

use std::path::Path;
use std::process::ExitCode;

use super::{config_failure, run, CheckOptions, Report};
use crate::cli::CheckArgs;
use crate::config::{self, raw::RawConfig};

/// Runs `check` and prints its report to stdout.
pub async fn command(args: &CheckArgs) -> ExitCode {
    let report = match report(args).await {
        Ok(r) => r,
        Err(message) => {
            eprintln!("dc-gateway check: {message}");
            return ExitCode::from(2);
        }
    };
    print!("{report}");
    if report.passed() {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The report of `check` with `args` (an `Err` only when the embedded
/// emulator cannot start).
pub async fn report(args: &CheckArgs) -> Result<Report, String> {
    let emulator = if args.emulator {
        let e = crate::embedded::start_emulator()
            .await
            .map_err(|e| format!("embedded emulator: {e}"))?;
        Some(e)
    } else {
        None
    };
    let loaded = args
        .config
        .load(emulator.as_ref().map(|e| e.base_url()))
        .and_then(|(raw, base, secrets)| {
            let certificate = certificate_of(&raw, &base);
            config::validate(raw, &base, &secrets).map(|c| (c, certificate))
        });
    let report = match loaded {
        Err(e) => config_failure(&e),
        Ok((mut config, certificate)) => {
            let mut options = CheckOptions {
                sql: args.sql.clone(),
                ingest_source: args.ingest.then(|| args.ingest_source.clone()),
                certificate_pem: certificate,
            };
            if let Some(e) = &emulator {
                config.upstream.ca_pem = e.cert_pem().map(str::to_owned);
                // The emulator app's certificate is the one "uploaded".
                if let config::Flow::JwtBearer { client_id, .. } = &config.credentials.flow {
                    options.certificate_pem = e
                        .state()
                        .org
                        .app(client_id)
                        .map(|app| app.certificate_pem.clone());
                }
            }
            run(&config, &options).await
        }
    };
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(report)
}

/// The PEM of `credentials.certificate_file`, when set and readable
/// (validation reports it otherwise).
fn certificate_of(raw: &RawConfig, base: &Path) -> Option<String> {
    let path = raw.credentials.certificate_file.as_ref()?;
    std::fs::read_to_string(base.join(path)).ok()
}

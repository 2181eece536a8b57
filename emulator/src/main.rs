//! `dc-emulator`: parse flags, bind, start, print the base URL, wait for
//! SIGINT/SIGTERM, drain, exit 0.

use std::process::ExitCode;

use clap::Parser;
use dc_emulator::cli::Cli;
use dc_emulator::Emulator;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let listen = cli.listen;
    let config = cli.into_config();
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("dc-emulator: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::start(config, listener).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dc-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = emulator.cert_path() {
        eprintln!(
            "dc-emulator: TLS certificate {} (trust it: REQUESTS_CA_BUNDLE / curl --cacert)",
            path.display()
        );
    }
    let signal = shutdown_signal();
    println!("dc-emulator listening on {}", emulator.base_url());
    signal.await;
    eprintln!("dc-emulator: shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or SIGTERM. SIGTERM is registered at the call, before
/// the URL is printed: a supervisor (or test) that signals as soon as it reads
/// the URL must not kill the process with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}

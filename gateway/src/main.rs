//! `dc-gateway`: parse flags, load and validate the configuration, start
//! (optionally with the embedded emulator), print the URLs, wait for
//! SIGINT/SIGTERM, drain, exit; or run `check`, `jwt` or `keygen`. Exit
//! codes: 0 ok, 1 a `check` step failed, 2 bad configuration or start
//! failure.

use std::process::ExitCode;

use clap::Parser;
use dc_gateway::cli::{Cli, Command_, ServeArgs};
use dc_gateway::config::{self, Secrets};
use dc_gateway::{embedded, telemetry, Gateway};

/// mimalloc rather than glibc's malloc: the cache keeps many small
/// long-lived allocations (answers, keys, moka's bookkeeping) between the
/// miss path's short-lived ones, and mimalloc's size-segregated pages keep
/// that from fragmenting into resident memory; it is also faster on the
/// hit path's small allocations. See BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command_::Serve(args) => serve(args).await,
        Command_::Check(args) => dc_gateway::check::command::command(&args).await,
        Command_::Jwt(args) => dc_gateway::jwt_cmd::command(&args),
        Command_::Keygen(args) => dc_gateway::keygen::command(&args),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("dc-gateway: {message}");
    ExitCode::from(2)
}

async fn serve(args: ServeArgs) -> ExitCode {
    let (mut raw, base) = match config::read_raw(args.config.as_deref(), &args.overrides.0) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut secrets = Secrets::from_env();

    // With --emulator the upstream is an in-process emulator (not started
    // for --check-config: its address is only a placeholder then).
    let emulator = if args.emulator && !args.check_config {
        match embedded::start_emulator().await {
            Ok(e) => Some(e),
            Err(e) => return fail(format_args!("embedded emulator: {e}")),
        }
    } else {
        None
    };
    if args.emulator {
        let login = emulator
            .as_ref()
            .map_or("https://127.0.0.1:9443", |e| e.base_url());
        embedded::apply(&mut raw, &mut secrets, login);
    }
    let mut config = match config::validate(raw, &base, &secrets) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some(e) = &emulator {
        config.upstream.ca_pem = e.cert_pem().map(str::to_owned);
    }
    if args.check_config {
        println!(
            "dc-gateway: configuration OK (listen {}, login {}, flow {}, {} client(s){})",
            config.server.listen,
            config.upstream.login_url,
            config.credentials.flow.step(),
            config.clients.len(),
            if config.is_open() {
                ", open on loopback"
            } else {
                ""
            }
        );
        return ExitCode::SUCCESS;
    }

    telemetry::init(&config.log);
    let listen = config.server.listen;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => return fail(format_args!("cannot listen on {listen}: {e}")),
    };
    let gateway = match Gateway::start(config, listener).await {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    if let Some(path) = gateway.cert_path() {
        eprintln!(
            "dc-gateway: TLS certificate {} (trust it: REQUESTS_CA_BUNDLE / curl --cacert)",
            path.display()
        );
    }
    if gateway.is_open() {
        eprintln!("dc-gateway: no clients configured: OPEN to anyone on this loopback address");
    }
    if let Some(e) = &emulator {
        println!("dc-gateway: embedded emulator at {}", e.base_url());
    }
    println!("dc-gateway listening on {}", gateway.base_url());
    dc_gateway::shutdown::signal().await;
    eprintln!("dc-gateway: shutting down");
    gateway.shutdown().await;
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    ExitCode::SUCCESS
}

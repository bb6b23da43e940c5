//! `platform-baseline [PORT]`: serves the baseline router on 127.0.0.1.
//! The port comes from the first argument, else `BASELINE_PORT`, else 8081.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

const DEFAULT_PORT: u16 = 8081;

#[tokio::main]
async fn main() -> ExitCode {
    let raw = std::env::args().nth(1).or_else(|| std::env::var("BASELINE_PORT").ok());
    let port = match raw.as_deref().map(str::parse::<u16>) {
        None => DEFAULT_PORT,
        Some(Ok(port)) => port,
        Some(Err(err)) => {
            eprintln!("platform-baseline: invalid port {raw:?}: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("platform-baseline: cannot bind 127.0.0.1:{port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("platform-baseline listening on {addr}"),
        Err(err) => eprintln!("platform-baseline: {err}"),
    }
    if let Err(err) = axum::serve(listener, platform_baseline::router()).await {
        eprintln!("platform-baseline: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

//! Structured logging: JSON lines in production, readable console lines in
//! development, written by a background thread (see `logwriter`) so a slow
//! terminal or disk never holds up a request.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry, fmt};

use crate::config::{LogFormat, LoggingSettings};
use crate::jsonlog::JsonLines;
use crate::logwriter::{FlushGuard, batch_writer};

/// Keeps the log writer's worker alive; dropping it flushes pending lines.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _worker: FlushGuard,
}

/// Installs the global subscriber.
///
/// Returns `Ok(None)` when a subscriber is already installed (tests start
/// several platforms in one process; the first one's logging wins).
///
/// # Errors
/// When the filter does not parse or the output file cannot be opened; the
/// message names the `logging.*` key.
pub fn init(settings: &LoggingSettings) -> anyhow::Result<Option<LogGuard>> {
    // Plain `level` / `target=level` lists (what the shipped configs use)
    // become a `Targets` filter, which decides per callsite and keeps no
    // per-span state; only span or field directives (`target[span{f}]=…`)
    // need `EnvFilter`, which takes locks on every span enter and exit.
    let filter: Box<dyn Layer<Registry> + Send + Sync> = match settings.level.parse::<Targets>() {
        Ok(targets) => Box::new(targets),
        Err(_) => Box::new(
            EnvFilter::try_new(&settings.level)
                .with_context(|| format!("logging.level: `{}` is not a log filter", settings.level))?,
        ),
    };
    let out: Box<dyn Write + Send> = match settings.output.as_str() {
        "stdout" => Box::new(std::io::stdout()),
        "stderr" => Box::new(std::io::stderr()),
        path => {
            if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("logging.output: cannot create {}", parent.display()))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("logging.output: cannot open `{path}`"))?;
            Box::new(file)
        }
    };
    let (writer, guard) = batch_writer(out).context("logging: cannot start the log writer thread")?;
    let ansi = settings.output == "stdout" || settings.output == "stderr";
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match settings.format {
        // The span list carries the request span's fields (request_id, user_id,
        // tenant_id, trace_id) on every line, however deeply nested the event.
        // Request fields (request_id, user_id, tenant_id, trace_id) come from
        // the enclosing spans, flattened into every line.
        LogFormat::Json => registry.with(JsonLines::new(writer)).try_init().is_ok(),
        LogFormat::Console => registry
            .with(fmt::layer().compact().with_ansi(ansi).with_writer(writer))
            .try_init()
            .is_ok(),
    };
    Ok(installed.then_some(LogGuard { _worker: guard }))
}

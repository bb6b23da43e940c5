//! Structured logging: JSON lines in production, readable console lines in
//! development, written by a background thread (see `logwriter`) so a slow
//! terminal or disk never holds up a request.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use platform_adapter_telemetry::OtlpTracing;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
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
/// With `traces`, every span also becomes an OpenTelemetry span exported
/// over OTLP; without, the subscriber is exactly what it was before tracing
/// existed (nothing per span is paid for export that is off).
pub fn init(settings: &LoggingSettings, traces: Option<&OtlpTracing>) -> anyhow::Result<Option<LogGuard>> {
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
    let installed = match traces {
        None => install(registry, settings.format, writer, ansi),
        Some(traces) => install(registry.with(traces.layer()), settings.format, writer, ansi),
    };
    Ok(installed.then_some(LogGuard { _worker: guard }))
}

/// Adds the line formatter to `subscriber` and installs it globally; false
/// when a subscriber was already installed.
fn install<S>(subscriber: S, format: LogFormat, writer: crate::logwriter::BatchWriter, ansi: bool) -> bool
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
{
    match format {
        // Request fields (request_id, user_id, tenant_id, trace_id, span_id)
        // come from the enclosing spans, flattened into every line.
        LogFormat::Json => subscriber.with(JsonLines::new(writer)).try_init().is_ok(),
        LogFormat::Console => subscriber
            .with(fmt::layer().compact().with_ansi(ansi).with_writer(writer))
            .try_init()
            .is_ok(),
    }
}

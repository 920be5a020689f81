//! Logging setup and the metrics recorder (the request spans are `http::telemetry`).

pub mod metrics;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Where log lines go: the server logs to stdout; the command-line tools log to stderr,
/// because their stdout is the answer (a table or JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

/// `LOG_FORMAT=json`: one JSON object per line (fields flattened; the current span in `span`,
/// every enclosing one in `spans`, the request's with its id, method and path), for log
/// collectors, and a `close` line with the busy and idle time of every span as it ends (a
/// slow login splits into its throttle, password and transaction spans). Anything else:
/// human-readable.
pub fn json_requested() -> bool {
    std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"))
}

pub fn init(output: Output) {
    // The tools print their answer; only warnings and errors join it by default.
    let default = match output {
        Output::Stdout => "info,actix_server=warn",
        Output::Stderr => "warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match (json_requested(), output) {
        (true, Output::Stdout) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::CLOSE)
            .try_init(),
        (true, Output::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .try_init(),
        // Colours only on a terminal, not in files and log collectors.
        (false, Output::Stdout) => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
        (false, Output::Stderr) => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init(),
    };
}

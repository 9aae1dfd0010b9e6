//! `sluice`: the command-line program. Argument parsing and dispatch only
//! ([`cli`], one module per command); the work lives in the `generator`,
//! `pipeline`, `reporter` and `scenario` crates.

mod cli;
mod signals;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// glibc gives each thread that allocates its own malloc arena and keeps
/// freed memory in each. With tokio's workers and the parse threads that
/// held 14 MB more than one arena does (ingesting 100 000 rows: 37 → 23 MB
/// of anonymous memory at the same speed). `MALLOC_ARENA_MAX`, when set,
/// still decides.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn use_one_malloc_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only tunes the allocator; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Other allocators (musl, Windows, macOS) keep no per-thread arenas to cap.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn use_one_malloc_arena() {}

fn main() -> ExitCode {
    use_one_malloc_arena();
    let cli = Cli::parse();
    // tokio_postgres logs every server NOTICE at info: keep those out.
    // `sluice ingest` on a terminal shows its live view instead of a log
    // line per batch.
    let live_view = matches!(cli.command, Command::Ingest(_)) && std::io::stderr().is_terminal();
    let default_level = if live_view
        || matches!(
            cli.command,
            Command::Run(_) | Command::Bench(_) | Command::Sweep(_)
        ) {
        "warn"
    } else {
        "info,tokio_postgres=warn"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match runtime.block_on(cli::dispatch(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sluice: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: many messages
/// already quote their cause, and a user reads a repeated cause as two
/// problems.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the scenario file x.toml: {source}")]
    struct Quoting {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn a_cause_the_message_quotes_is_not_repeated() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let quoted = anyhow::Error::new(Quoting { source: io() });
        assert_eq!(
            one_line(&quoted),
            "cannot read the scenario file x.toml: no such file"
        );
        let wrapped = anyhow::Error::new(io()).context("loading the scenario");
        assert_eq!(one_line(&wrapped), "loading the scenario: no such file");
    }
}

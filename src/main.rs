//! `sluice`: the command-line program. Argument parsing and dispatch only
//! ([`cli`], one module per command); the work lives in the `generator`,
//! `pipeline`, `reporter` and `scenario` crates.

mod cli;
mod signals;

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
    let default_level = if matches!(
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
            eprintln!("sluice: {error:#}");
            ExitCode::FAILURE
        }
    }
}

//! The `lazai` command's subcommands, and [`devnet::cluster`]: a local network of `lazai node`
//! processes, run by `lazai devnet --processes` and `lazai-bench cluster`.

pub mod attest;
pub mod dat;
pub mod data;
pub mod devnet;
pub mod genesis;
pub mod keys;
pub mod kit;
pub mod model;
pub mod node;
pub mod status;
pub mod worker;

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM, and names the signal.
pub async fn shutdown_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = interrupt.recv() => Ok("SIGINT"),
            _ = terminate.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

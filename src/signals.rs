//! Requests to stop, as each platform sends them: Ctrl-C everywhere; SIGTERM
//! (service managers, `kill`) on Unix; Ctrl-Break, the console window
//! closing and the system shutting down on Windows (where a service manager
//! or `taskkill` without /F sends those, and there is no SIGTERM).

/// What the user or the system asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Ctrl-C at the terminal.
    Interrupt,
    /// SIGTERM, Ctrl-Break, console close or system shutdown.
    Terminate,
}

/// The platform's stop requests, received one after the other.
pub struct StopRequests {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_break: tokio::signal::windows::CtrlBreak,
    #[cfg(windows)]
    ctrl_close: tokio::signal::windows::CtrlClose,
    #[cfg(windows)]
    ctrl_shutdown: tokio::signal::windows::CtrlShutdown,
}

impl StopRequests {
    /// Installs the handlers (inside a Tokio runtime).
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
            #[cfg(windows)]
            ctrl_break: tokio::signal::windows::ctrl_break()?,
            #[cfg(windows)]
            ctrl_close: tokio::signal::windows::ctrl_close()?,
            #[cfg(windows)]
            ctrl_shutdown: tokio::signal::windows::ctrl_shutdown()?,
        })
    }

    /// The next request.
    pub async fn recv(&mut self) -> StopRequest {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => StopRequest::Interrupt,
                _ = self.terminate.recv() => StopRequest::Terminate,
            }
        }
        #[cfg(windows)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => StopRequest::Interrupt,
                _ = self.ctrl_break.recv() => StopRequest::Terminate,
                _ = self.ctrl_close.recv() => StopRequest::Terminate,
                _ = self.ctrl_shutdown.recv() => StopRequest::Terminate,
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _ = tokio::signal::ctrl_c().await;
            StopRequest::Interrupt
        }
    }
}

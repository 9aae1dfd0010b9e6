//! Bytes on the wire: the sink's connections count what they send to the
//! database and receive from it, for the report's I/O figures. PostgreSQL
//! keeps no per-connection network counters and the operating system's are
//! per interface, so the count is taken where the bytes pass: a stream
//! wrapped around each connection's socket, below TLS (what crosses the
//! network, encrypted or not).
//!
//! tokio-postgres opens its sockets itself and offers no hook on them; its
//! `connect_raw` takes any stream, so this module opens the socket as
//! tokio-postgres would (each host in turn, the connect timeout, TCP
//! keepalives and the user timeout) and hands it over wrapped.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use deadpool_postgres::Connect;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::Host;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, Error, NoTls};

/// Bytes sent to and received from the database over a set of connections.
#[derive(Debug, Default)]
pub struct WireBytes {
    sent: AtomicU64,
    received: AtomicU64,
}

impl WireBytes {
    /// Bytes sent so far (written to the socket).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Bytes received so far (read from the socket).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Any socket tokio-postgres can talk over.
trait Socket: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Socket for T {}

/// A socket that adds what passes through it to its [`WireBytes`].
struct Counted {
    inner: Box<dyn Socket>,
    bytes: Arc<WireBytes>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = (buf.filled().len() - before) as u64;
            self.bytes.received.fetch_add(read, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            self.bytes.sent.fetch_add(written as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled {
            self.bytes.sent.fetch_add(written as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Opens the pool's connections over counted sockets.
pub(super) struct CountingConnect {
    pub(super) tls: crate::tls::Connector,
    pub(super) bytes: Arc<WireBytes>,
}

impl Connect for CountingConnect {
    fn connect(
        &self,
        config: &Config,
    ) -> BoxFuture<'_, Result<(Client, tokio::task::JoinHandle<()>), Error>> {
        let config = config.clone();
        Box::pin(async move {
            let (socket, hostname) = match open_socket(&config).await {
                Ok(opened) => opened,
                Err(error) => return Err(as_postgres_error(&config, error).await),
            };
            let stream = Counted {
                inner: socket,
                bytes: Arc::clone(&self.bytes),
            };
            let connector = self.tls.for_host(&hostname);
            let (client, connection) = config.connect_raw(stream, connector).await?;
            let driver = tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "database connection closed");
                }
            });
            Ok((client, driver))
        })
    }
}

/// The first host of the configuration that accepts a connection, in
/// order, as tokio-postgres tries them; and the name TLS checks it under.
async fn open_socket(config: &Config) -> io::Result<(Box<dyn Socket>, String)> {
    let hosts = config.get_hosts();
    let addresses = config.get_hostaddrs();
    let ports = config.get_ports();
    let timeout = config.get_connect_timeout().copied();
    let mut last_error = None;
    for index in 0..hosts.len().max(addresses.len()) {
        let port = ports
            .get(index)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(5432);
        let attempt = match (hosts.get(index), addresses.get(index)) {
            (_, Some(ip)) => {
                let name = match hosts.get(index) {
                    Some(Host::Tcp(name)) => name.clone(),
                    _ => String::new(),
                };
                open_tcp(config, &[SocketAddr::new(*ip, port)], timeout)
                    .await
                    .map(|socket| (socket, name))
            }
            (Some(Host::Tcp(name)), None) => {
                match tokio::net::lookup_host((name.as_str(), port)).await {
                    Ok(found) => open_tcp(config, &found.collect::<Vec<_>>(), timeout)
                        .await
                        .map(|socket| (socket, name.clone())),
                    Err(error) => Err(error),
                }
            }
            #[cfg(unix)]
            (Some(Host::Unix(folder)), None) => {
                let path = folder.join(format!(".s.PGSQL.{port}"));
                with_timeout(tokio::net::UnixStream::connect(path), timeout)
                    .await
                    .map(|socket| (Box::new(socket) as Box<dyn Socket>, String::new()))
            }
            (None, None) => unreachable!("the index is below the longer of both lists"),
        };
        match attempt {
            Ok(opened) => return Ok(opened),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the database URL names no host",
        )
    }))
}

/// A TCP connection to the first of `candidates` that answers, set up as
/// tokio-postgres sets up its own (no Nagle delay, keepalives, user timeout).
async fn open_tcp(
    config: &Config,
    candidates: &[SocketAddr],
    timeout: Option<Duration>,
) -> io::Result<Box<dyn Socket>> {
    let mut last_error = None;
    for address in candidates {
        match with_timeout(TcpStream::connect(address), timeout).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                let socket = socket2::SockRef::from(&stream);
                #[cfg(target_os = "linux")]
                if let Some(limit) = config.get_tcp_user_timeout() {
                    socket.set_tcp_user_timeout(Some(*limit))?;
                }
                if config.get_keepalives() {
                    socket.set_tcp_keepalive(&keepalive(config))?;
                }
                return Ok(Box::new(stream));
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the database host resolved to no address",
        )
    }))
}

/// The configuration's keepalive settings, as far as the platform takes them.
fn keepalive(config: &Config) -> socket2::TcpKeepalive {
    #[allow(unused_mut)]
    let mut keepalive = socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
    #[cfg(not(any(target_os = "redox", target_os = "solaris", target_os = "openbsd")))]
    if let Some(interval) = config.get_keepalives_interval() {
        keepalive = keepalive.with_interval(interval);
    }
    #[cfg(not(any(
        target_os = "redox",
        target_os = "solaris",
        target_os = "windows",
        target_os = "openbsd"
    )))]
    if let Some(retries) = config.get_keepalives_retries() {
        keepalive = keepalive.with_retries(retries);
    }
    keepalive
}

async fn with_timeout<T>(
    connect: impl std::future::Future<Output = io::Result<T>>,
    timeout: Option<Duration>,
) -> io::Result<T> {
    match timeout {
        Some(limit) => tokio::time::timeout(limit, connect)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }),
        None => connect.await,
    }
}

/// A socket that fails every operation with one error.
struct Failed(Option<io::Error>);

impl Failed {
    fn error(&mut self) -> io::Error {
        self.0
            .take()
            .unwrap_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Failed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }
}

impl AsyncWrite for Failed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }
}

/// A socket error as tokio-postgres reports one (its error type has no
/// public constructor): its handshake, without TLS, over a socket that
/// fails with that error.
async fn as_postgres_error(config: &Config, error: io::Error) -> Error {
    let mut plain = config.clone();
    plain.ssl_mode(SslMode::Disable);
    match plain.connect_raw(Failed(Some(error)), NoTls).await {
        Err(error) => error,
        Ok(_) => unreachable!("a handshake over a failed socket cannot succeed"),
    }
}

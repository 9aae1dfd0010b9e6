//! TLS to PostgreSQL with libpq's `sslmode` values.
//!
//! tokio-postgres understands only `disable`, `prefer` and `require`, and
//! rejects `verify-ca`, `verify-full` and `sslrootcert` as unknown. This
//! module takes those options off the connection string before
//! tokio-postgres parses it and builds a native-tls connector (OpenSSL on
//! Linux, SChannel on Windows, Security.framework on macOS) that checks what
//! libpq would check:
//!
//! | sslmode       | encrypted        | certificate chain | host name |
//! |---------------|------------------|-------------------|-----------|
//! | `disable`     | no               | –                 | –         |
//! | `allow`, `prefer` | when the server offers it | no      | no        |
//! | `require`     | yes              | only when `sslrootcert` is given (as libpq) | no |
//! | `verify-ca`   | yes              | yes, against `sslrootcert` (required) | no |
//! | `verify-full` | yes              | yes               | yes       |
//!
//! The chain is checked against `sslrootcert` (a PEM file, may hold several
//! certificates) when given, else against the system's trusted roots.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use postgres_native_tls::{TlsConnector, TlsStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::TlsConnect;

/// libpq's `sslmode`, including the two checks tokio-postgres lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq's `allow` tries plain first; offering TLS first is never weaker.
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not a libpq sslmode; use disable, allow, prefer, require, \
                     verify-ca or verify-full"
                ))
            }
        })
    }

    /// What tokio-postgres itself must do: it only negotiates, the connector checks.
    pub fn negotiation(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

/// The TLS part of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: TlsMode,
    /// PEM file of trusted certificate authorities (`sslrootcert`).
    pub root_cert: Option<PathBuf>,
}

impl Default for TlsOptions {
    /// libpq's default is `prefer`.
    fn default() -> Self {
        Self {
            mode: TlsMode::Prefer,
            root_cert: None,
        }
    }
}

/// Splits the TLS options off a `postgres://…?…` URL or a `key=value …`
/// string: returns the string tokio-postgres can parse and the options.
pub fn split_tls_options(url: &str) -> Result<(String, TlsOptions), String> {
    let mut options = TlsOptions::default();
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => options.mode = TlsMode::parse(value)?,
            "sslrootcert" => options.root_cert = Some(PathBuf::from(value)),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                return Err(format!(
                    "{key} (client certificates and revocation lists) is not supported by sluice; \
                     authenticate with a password over sslmode=verify-full instead"
                ))
            }
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.contains("://") {
        let Some((head, query)) = url.split_once('?') else {
            return Ok((url.to_string(), options));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, &percent_decode(value))? {
                kept.push(pair);
            }
        }
        if kept.is_empty() {
            head.to_string()
        } else {
            format!("{head}?{}", kept.join("&"))
        }
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, value.trim_matches('\''))? {
                kept.push(pair);
            }
        }
        kept.join(" ")
    };
    if options.mode == TlsMode::VerifyCa && options.root_cert.is_none() {
        return Err(
            "sslmode=verify-ca needs sslrootcert=PATH.pem, the certificate authority that signed \
             the server's certificate: without a host name check, trusting every authority of the \
             system store would let any publicly signed certificate through (libpq refuses it \
             too). Add sslrootcert, or use sslmode=verify-full"
                .into(),
        );
    }
    Ok((rest, options))
}

/// `%2F` → `/`, as URLs encode paths such as `sslrootcert`.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The native connector that enforces `options` during the handshake.
fn build(options: &TlsOptions) -> Result<native_tls::TlsConnector, String> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = &options.root_cert {
        let pem = std::fs::read(path).map_err(|error| {
            format!(
                "cannot read sslrootcert {}: {error}; give the path of a PEM file holding the \
                 certificate authority that signed the server's certificate",
                path.display()
            )
        })?;
        let roots = native_tls::Certificate::stack_from_pem(&pem).map_err(|error| {
            format!(
                "sslrootcert {} holds no usable PEM certificate ({error}); give the CA certificate \
                 in PEM form (-----BEGIN CERTIFICATE-----)",
                path.display()
            )
        })?;
        if roots.is_empty() {
            return Err(format!(
                "sslrootcert {} holds no certificate; give the CA certificate in PEM form",
                path.display()
            ));
        }
        // As libpq: the given file is the whole trust store.
        builder.disable_built_in_roots(true);
        for root in roots {
            builder.add_root_certificate(root);
        }
    }
    let check_chain = match options.mode {
        TlsMode::Disable | TlsMode::Prefer => false,
        TlsMode::Require => options.root_cert.is_some(),
        TlsMode::VerifyCa | TlsMode::VerifyFull => true,
    };
    builder.danger_accept_invalid_certs(!check_chain);
    builder.danger_accept_invalid_hostnames(options.mode != TlsMode::VerifyFull);
    builder
        .build()
        .map_err(|error| format!("cannot set up TLS: {error}"))
}

/// The TLS side of every connection to one database, built at the first
/// handshake the server accepts rather than at start: building it loads the
/// system's trusted roots (OpenSSL decodes every PEM of the bundle, about
/// 0.05 CPU-s, a twentieth of a 500 000-row ingest's CPU), which a server
/// that declines TLS (`prefer`, the default, against the embedded server)
/// or `sslmode=disable` never needs. A given `sslrootcert` is read and
/// checked at once, so a wrong path fails the start, not the first batch.
#[derive(Clone)]
pub struct Connector {
    options: Arc<TlsOptions>,
    built: Arc<Mutex<Option<native_tls::TlsConnector>>>,
}

impl Connector {
    pub fn new(options: &TlsOptions) -> Result<Self, String> {
        let built = match options.root_cert {
            Some(_) => Some(build(options)?),
            None => None,
        };
        Ok(Self {
            options: Arc::new(options.clone()),
            built: Arc::new(Mutex::new(built)),
        })
    }

    /// The handshake of one connection to `domain` (the name checked
    /// against the certificate under `verify-full`).
    pub fn for_host(&self, domain: &str) -> Handshake {
        Handshake {
            connector: self.clone(),
            domain: domain.to_string(),
        }
    }

    fn native(&self) -> Result<native_tls::TlsConnector, String> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(connector) = built.as_ref() {
            return Ok(connector.clone());
        }
        let connector = build(&self.options)?;
        *built = Some(connector.clone());
        Ok(connector)
    }
}

/// One connection's TLS handshake, run only when the server accepts TLS.
pub struct Handshake {
    connector: Connector,
    domain: String,
}

impl<S> TlsConnect<S> for Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = BoxFuture<'static, Result<TlsStream<S>, Self::Error>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let native = self.connector.native()?;
            let stream = TlsConnector::new(native, &self.domain)
                .connect(stream)
                .await?;
            Ok(stream)
        })
    }
}

/// Whether a connection failure happened in the TLS handshake (a bad
/// certificate, a server without TLS): retrying will not fix it.
pub fn is_handshake_failure(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<native_tls::Error>().is_some() {
            return true;
        }
        source = cause.source();
    }
    error.to_string().contains("TLS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_libpq_tls_options_off_urls_and_key_value_strings() {
        let (rest, options) = split_tls_options(
            "postgres://u:p@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u:p@db:5432/x?application_name=a");
        assert_eq!(
            options,
            TlsOptions {
                mode: TlsMode::VerifyFull,
                root_cert: Some(PathBuf::from("/etc/ca.pem"))
            }
        );
        let (rest, options) =
            split_tls_options("host=db sslmode=verify-ca sslrootcert='/ca.pem' user=u").unwrap();
        assert_eq!(rest, "host=db user=u");
        assert_eq!(options.mode, TlsMode::VerifyCa);
        assert_eq!(options.root_cert, Some(PathBuf::from("/ca.pem")));
        let (rest, options) = split_tls_options("postgres://db/x?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(options.mode.negotiation(), SslMode::Require);
        let (rest, options) = split_tls_options("postgres://db/x").unwrap();
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(options, TlsOptions::default());
    }

    #[test]
    fn names_what_is_wrong_with_unsupported_tls_options() {
        let error = split_tls_options("postgres://db/x?sslmode=strict").unwrap_err();
        assert!(
            error.contains("sslmode=strict") && error.contains("verify-full"),
            "{error}"
        );
        let error = split_tls_options("postgres://db/x?sslcert=/c.pem").unwrap_err();
        assert!(
            error.contains("sslcert") && error.contains("not supported"),
            "{error}"
        );
        let error = Connector::new(&TlsOptions {
            mode: TlsMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        })
        .err()
        .unwrap();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }
}

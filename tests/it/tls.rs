//! TLS to PostgreSQL: the embedded server gets a self-signed certificate and
//! refuses plain connections; `sslmode=require`, `verify-ca` and
//! `verify-full` connect and ingest, and certificate or host name mismatches
//! fail at once with an error that says what to change.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pipeline::db::{DbError, DbTarget};

use crate::support::{
    count, ingest_args, open_to_others, run_ok, sluice, write_file, Scratch, HEADER,
};

/// A self-signed certificate for `localhost` only (not 127.0.0.1), so that
/// verify-full against 127.0.0.1 must fail.
fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    open_to_others(dir);
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    // Under Wine (the Windows CI) the Linux openssl cannot be started: the
    // CI makes the pair beforehand, the same way, and names its folder.
    if let Some(made) = std::env::var_os("SLUICE_TEST_TLS_PAIR").map(PathBuf::from) {
        std::fs::copy(made.join("server.crt"), &cert).unwrap();
        std::fs::copy(made.join("server.key"), &key).unwrap();
        return (cert, key);
    }
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl command line tool makes the test certificate; install openssl");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

/// Gives the key to the server's user (it refuses keys others can read).
fn hand_key_to_server(key: &Path, data_dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let owner = std::fs::metadata(data_dir).unwrap();
        std::os::unix::fs::chown(key, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (key, data_dir);
}

/// Turns TLS on and makes the server refuse every connection without it.
async fn require_tls(scratch: &Scratch, cert: &Path, key: &Path) {
    hand_key_to_server(key, scratch.server.data_dir());
    let client = scratch.client().await;
    for setting in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".into(),
    ] {
        client.batch_execute(&setting).await.unwrap();
    }
    let hba = scratch.server.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("hostnossl all all all reject\n{rules}")).unwrap();
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // The postmaster reloads asynchronously: wait until plain connections are refused.
    let plain = DbTarget::parse(&format!("{}?sslmode=disable", scratch.url())).unwrap();
    for _ in 0..100 {
        if plain.connect().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server still accepts plain connections after the reload");
}

async fn uses_tls(target: &DbTarget) -> bool {
    let client = target.connect().await.unwrap();
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_ingests_over_tls_with_require_verify_ca_and_verify_full() {
    let scratch = Scratch::new();
    let (cert, key) = self_signed_certificate(&scratch.path("tls"));
    require_tls(&scratch, &cert, &key).await;
    let port = scratch.server.port();
    // The embedded cluster's user and generated password.
    let base = scratch.url();
    let credentials = base["postgres://".len()..].split('@').next().unwrap();
    let url =
        |host: &str, query: &str| format!("postgres://{credentials}@{host}:{port}/sluice?{query}");
    let root = format!("sslrootcert={}", cert.display());

    let plain = DbTarget::parse(&url("127.0.0.1", "sslmode=disable")).unwrap();
    let refused = plain.connect().await.unwrap_err();
    assert!(
        refused.to_string().contains("no encryption"),
        "the server must refuse plain connections: {refused}"
    );
    for query in [
        "sslmode=require".to_string(),
        "sslmode=prefer".to_string(),
        format!("sslmode=verify-ca&{root}"),
    ] {
        let target = DbTarget::parse(&url("127.0.0.1", &query)).unwrap();
        assert!(uses_tls(&target).await, "{query}");
    }
    let verify_full = url("localhost", &format!("sslmode=verify-full&{root}"));
    assert!(uses_tls(&DbTarget::parse(&verify_full).unwrap()).await);

    // The program itself, end to end, over verify-full.
    let input = scratch.input();
    let mut content = format!("{HEADER}\n");
    for index in 0..50 {
        content.push_str(&format!(
            "tls-{index},purchase,1,2,,9.99,1,2026-11-23T10:00:00Z\n"
        ));
    }
    write_file(&input, "events-000001.csv", &content);
    run_ok(ingest_args(
        &mut sluice(),
        "available-now",
        &verify_full,
        &input,
        &scratch.path("checkpoint"),
    ));
    let client = DbTarget::parse(&verify_full)
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_certificate_it_cannot_verify_without_retrying() {
    let scratch = Scratch::new();
    let (cert, key) = self_signed_certificate(&scratch.path("tls"));
    require_tls(&scratch, &cert, &key).await;
    let port = scratch.server.port();
    let root = format!("sslrootcert={}", cert.display());
    let failures = [
        // The certificate names localhost, not 127.0.0.1.
        format!("postgres://postgres@127.0.0.1:{port}/sluice?sslmode=verify-full&{root}"),
        // A self-signed certificate is not among the system's trusted roots.
        format!("postgres://postgres@localhost:{port}/sluice?sslmode=verify-full"),
    ];
    // verify-ca without sslrootcert would trust any public certificate: refused before connecting.
    let error = DbTarget::parse(&format!(
        "postgres://postgres@localhost:{port}/sluice?sslmode=verify-ca"
    ))
    .unwrap_err();
    assert!(matches!(error, DbError::Url { .. }), "{error}");
    assert!(error.to_string().contains("needs sslrootcert"), "{error}");
    for url in failures {
        let error = DbTarget::parse(&url).unwrap().connect().await.unwrap_err();
        assert!(matches!(error, DbError::Tls { .. }), "{url}: {error}");
        assert!(!error.is_transient(), "{url}: a TLS failure is not retried");
        let message = error.to_string();
        // OpenSSL names the cause; SChannel (Windows) gives an error code
        // (e.g. -2146762481, CERT_E_CN_NO_MATCH) that Wine cannot spell out.
        let cause = if cfg!(windows) {
            "TLS handshake"
        } else {
            "certificate verify failed"
        };
        assert!(
            message.contains(cause) && message.contains("sslrootcert"),
            "{url}: {message}"
        );
    }
}

/// The embedded cluster does not trust local connections: without its
/// generated password (kept in an owner-only file) nobody connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_server_refuses_connections_without_its_generated_password() {
    let scratch = Scratch::new();
    let port = scratch.server.port();
    for url in [
        format!("postgres://postgres@127.0.0.1:{port}/sluice"),
        format!("postgres://postgres:guess@127.0.0.1:{port}/sluice"),
    ] {
        let error = DbTarget::parse(&url).unwrap().connect().await.unwrap_err();
        assert!(!error.is_transient(), "{url}: {error}");
    }
    assert!(scratch.url().contains(":"), "the URL carries the password");
    scratch.client().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(scratch.server.data_dir().join("sluice.password"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the password file is readable by others");
    }
}

//! The embedded PostgreSQL: the default database when no URL is given.
//!
//! sluice finds the server binaries, creates a cluster in a folder it owns
//! (reused by later runs), starts it on a free loopback port with
//! `track_commit_timestamp = on` (the latency contract needs commit times),
//! and stops it when the handle that started it is dropped. A cluster that is
//! already running (for example after `sluice db start`) is reused and left
//! running.
//!
//! PostgreSQL refuses to run as root. When sluice itself runs as root on Unix,
//! the server runs as the unprivileged `postgres` user (override with
//! `SLUICE_PG_USER`): the data folder is handed to that user, and every
//! parent folder must be traversable by it.

use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Name of the database sluice creates inside the embedded cluster.
pub const DATABASE_NAME: &str = "sluice";
/// Superuser of the embedded cluster (password authentication, loopback only).
const SUPERUSER: &str = "postgres";
/// File in the data folder holding the superuser's generated password
/// (owner-only), so other local users cannot connect as the superuser.
const PASSWORD_FILE: &str = "sluice.password";

/// What went wrong while managing the embedded server.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries found (looked for `initdb` and `pg_ctl` in $SLUICE_PG_BIN, \
         on PATH, in /usr/lib/postgresql/*/bin and C:\\Program Files\\PostgreSQL\\*\\bin). \
         Install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; Windows: \
         `winget install PostgreSQL.PostgreSQL`), set SLUICE_PG_BIN to its bin folder, \
         or point sluice at an existing server with --database-url / DATABASE_URL"
    )]
    BinariesNotFound,
    #[error("`{command}` failed ({status}): {stderr}\nSee the server log at {log} for details")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
        log: PathBuf,
    },
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "PostgreSQL must run as an unprivileged user and sluice runs as root, but user `{user}` \
         does not exist. Create it (`useradd --system {user}`) or set SLUICE_PG_USER to another user"
    )]
    NoServerUser { user: String },
    #[error(
        "the PostgreSQL server user `{user}` cannot reach the data folder {path}: a parent folder \
         is not traversable by others. Choose a data folder it can reach with \
         SLUICE_PG_DATA (for example under /var/tmp)"
    )]
    NotTraversable { user: String, path: PathBuf },
    #[error(
        "the embedded PostgreSQL at {data_dir} is not running: start it with `sluice db start`"
    )]
    NotRunning { data_dir: PathBuf },
    #[error("the embedded PostgreSQL did not accept connections within {0:?}")]
    StartTimeout(Duration),
    #[error("the embedded PostgreSQL refused {sql}: {source}\nSee the server log at {log}")]
    Query {
        sql: String,
        log: PathBuf,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// A cluster folder and the binaries that manage it.
#[derive(Debug, Clone)]
pub struct Cluster {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    server_user: Option<ServerUser>,
}

/// The Unix user the server runs as when sluice runs as root.
#[derive(Debug, Clone)]
struct ServerUser {
    name: String,
    #[cfg_attr(not(unix), allow(dead_code))]
    uid: u32,
    #[cfg_attr(not(unix), allow(dead_code))]
    gid: u32,
}

/// A running embedded server. Dropping it stops the server if this handle
/// started it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    cluster: Cluster,
    port: u16,
    owned: bool,
}

impl Cluster {
    /// A cluster in `data_dir`, managed with the binaries found on this machine.
    pub fn new(data_dir: impl Into<PathBuf>) -> Result<Self, EmbeddedError> {
        let bin_dir = find_binaries()?;
        let server_user = server_user()?;
        let data_dir = absolute(data_dir.into())?;
        Ok(Self {
            data_dir,
            bin_dir,
            server_user,
        })
    }

    /// The default cluster folder: `.sluice/pg` under the working directory,
    /// unless the server user could not reach it (root's home is private), in
    /// which case a folder under the system temp dir keyed by the working dir.
    pub fn default_data_dir() -> Result<PathBuf, EmbeddedError> {
        if let Ok(dir) = std::env::var("SLUICE_PG_DATA") {
            return Ok(PathBuf::from(dir));
        }
        let cwd = std::env::current_dir().map_err(|source| EmbeddedError::Io {
            context: "cannot read the working directory",
            path: PathBuf::from("."),
            source,
        })?;
        let local = cwd.join(".sluice").join("pg");
        // The folders above the data folder (the working directory included)
        // must let the server user through.
        if server_user()?.is_none() || ancestors_traversable(&local) {
            return Ok(local);
        }
        let key = cwd
            .to_string_lossy()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        Ok(std::env::temp_dir().join(format!("sluice-pg-{key:016x}")))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    fn is_initialized(&self) -> bool {
        self.data_dir.join("PG_VERSION").is_file()
    }

    /// Creates the cluster if the folder holds none yet.
    pub fn init(&self) -> Result<(), EmbeddedError> {
        if self.is_initialized() {
            return Ok(());
        }
        self.create_data_folder()?;
        // No `trust`: every local user could connect as the superuser. A
        // generated password, handed to initdb through a file of its own.
        let password = format!("{:032x}", rand::random::<u128>());
        let pwfile = self.data_dir.with_extension("initdb-password");
        write_private(&pwfile, &password)?;
        self.hand_over(&pwfile)?;
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "--encoding=UTF8"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--locale=C", "--no-sync"]);
        let created = self.run_checked(initdb, "initdb");
        let _ = std::fs::remove_file(&pwfile);
        created?;
        write_private(&self.data_dir.join(PASSWORD_FILE), &password)?;
        // Settings every embedded run needs: commit timestamps for the latency
        // contract, loopback only, no Unix socket folder to own.
        let settings = "\n# sluice\ntrack_commit_timestamp = on\nlisten_addresses = '127.0.0.1'\n\
                        unix_socket_directories = ''\nmax_connections = 50\n";
        let conf = self.data_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|source| EmbeddedError::Io {
            context: "cannot read postgresql.conf",
            path: conf.clone(),
            source,
        })?;
        text.push_str(settings);
        std::fs::write(&conf, text).map_err(|source| EmbeddedError::Io {
            context: "cannot write postgresql.conf",
            path: conf,
            source,
        })?;
        Ok(())
    }

    /// Creates the cluster as a copy of `template`, a stopped cluster,
    /// instead of running initdb: for callers that need many fresh clusters
    /// (the test suite), since initdb takes a second or two here and over
    /// ten under Wine, and a copy a fraction of one. The copy shares the
    /// template's password and settings.
    pub fn init_from(&self, template: &Cluster) -> Result<(), EmbeddedError> {
        if self.is_initialized() {
            return Ok(());
        }
        if !template.is_initialized() {
            return Err(EmbeddedError::Io {
                context: "the template is not a PostgreSQL cluster (no PG_VERSION)",
                path: template.data_dir.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        self.create_data_folder()?;
        self.copy_folder(&template.data_dir, &self.data_dir)
    }

    /// Creates the (empty) data folder and gives it to the server user.
    fn create_data_folder(&self) -> Result<(), EmbeddedError> {
        std::fs::create_dir_all(&self.data_dir).map_err(|source| EmbeddedError::Io {
            context: "cannot create the PostgreSQL data folder",
            path: self.data_dir.clone(),
            source,
        })?;
        self.hand_over(&self.data_dir)
    }

    /// Copies a cluster folder, file by file, giving each copy to the
    /// server user; a running server's pid file and the log stay behind.
    fn copy_folder(&self, from: &Path, to: &Path) -> Result<(), EmbeddedError> {
        let io = |context: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io {
                context,
                path,
                source,
            }
        };
        let permissions = std::fs::metadata(from)
            .map_err(io("cannot read the template cluster", from))?
            .permissions();
        std::fs::set_permissions(to, permissions)
            .map_err(io("cannot set the cluster folder's permissions", to))?;
        self.give_to_server_user(to)?;
        let entries =
            std::fs::read_dir(from).map_err(io("cannot read the template cluster", from))?;
        for entry in entries {
            let entry = entry.map_err(io("cannot read the template cluster", from))?;
            let name = entry.file_name();
            if name == "postmaster.pid" || name == "server.log" {
                continue;
            }
            let (source, target) = (entry.path(), to.join(&name));
            let kind = entry
                .file_type()
                .map_err(io("cannot read the template cluster", &source))?;
            if kind.is_dir() {
                std::fs::create_dir(&target)
                    .map_err(io("cannot create a folder of the cluster", &target))?;
                self.copy_folder(&source, &target)?;
            } else {
                std::fs::copy(&source, &target)
                    .map_err(io("cannot copy a file of the template cluster", &target))?;
                self.give_to_server_user(&target)?;
            }
        }
        Ok(())
    }

    /// The superuser's password (`None` for a cluster made by an older
    /// sluice with trust authentication).
    fn password(&self) -> Option<String> {
        std::fs::read_to_string(self.data_dir.join(PASSWORD_FILE))
            .ok()
            .map(|text| text.trim().to_string())
    }

    /// The port of the running server, if one runs on this folder.
    pub fn running_port(&self) -> Option<u16> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let status = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        // postmaster.pid: line 4 is the port.
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// Starts the server (creating the cluster first if needed), or attaches
    /// to the one already running. Only a server started here is stopped when
    /// the handle drops.
    pub fn start(&self) -> Result<EmbeddedPostgres, EmbeddedError> {
        self.start_on(None)
    }

    /// Like [`Cluster::start`], on a given port (a restart after an outage
    /// keeps its clients' URL), or a free one.
    pub fn start_on(&self, port: Option<u16>) -> Result<EmbeddedPostgres, EmbeddedError> {
        self.init()?;
        if let Some(port) = self.running_port() {
            return Ok(EmbeddedPostgres {
                cluster: self.clone(),
                port,
                owned: false,
            });
        }
        let port = match port {
            Some(port) => port,
            None => free_port().map_err(|source| EmbeddedError::Io {
                context: "cannot find a free loopback port",
                path: PathBuf::from("127.0.0.1"),
                source,
            })?,
        };
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {port}"));
        self.run_checked(pg_ctl, "pg_ctl start")?;
        let server = EmbeddedPostgres {
            cluster: self.clone(),
            port,
            owned: true,
        };
        server.wait_ready(Duration::from_secs(30))?;
        server.create_database()?;
        Ok(server)
    }

    /// Attaches to the running server without taking ownership.
    pub fn attach(&self) -> Result<EmbeddedPostgres, EmbeddedError> {
        let port = self
            .running_port()
            .ok_or_else(|| EmbeddedError::NotRunning {
                data_dir: self.data_dir.clone(),
            })?;
        Ok(EmbeddedPostgres {
            cluster: self.clone(),
            port,
            owned: false,
        })
    }

    /// Stops the server running on this folder, if any. Returns whether one ran.
    pub fn stop(&self) -> Result<bool, EmbeddedError> {
        if self.running_port().is_none() {
            return Ok(false);
        }
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "-t", "60"]);
        self.run_checked(pg_ctl, "pg_ctl stop")?;
        Ok(true)
    }

    /// Stops the server at once, as a crash would (for outage tests).
    pub fn stop_immediately(&self) -> Result<(), EmbeddedError> {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "immediate", "-w"]);
        self.run_checked(pg_ctl, "pg_ctl stop -m immediate")
    }

    /// A command for one of the server binaries, run as the server user.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(exe(program)));
        command.stdin(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            if let Some(user) = &self.server_user {
                command.uid(user.uid).gid(user.gid);
                command.env("HOME", &self.data_dir);
            }
            // Its own process group: a Ctrl-C in the terminal must reach
            // sluice (which finishes its batch, then stops the server), not
            // the server itself.
            command.process_group(0);
        }
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
            command.creation_flags(CREATE_NEW_PROCESS_GROUP);
        }
        command
    }

    /// Runs a server tool to its end; its error output goes to an anonymous
    /// temporary file, not a pipe: on Windows pg_ctl starts the server with
    /// inherited handles, so the server would hold a pipe open for its whole
    /// life and reading it to its end would never return.
    fn run_checked(&self, mut command: Command, name: &str) -> Result<(), EmbeddedError> {
        let spawn_error = |source| EmbeddedError::Spawn {
            command: name.to_string(),
            source,
        };
        let mut errors = tempfile::tempfile().map_err(spawn_error)?;
        let status = command
            .stdout(Stdio::null())
            .stderr(errors.try_clone().map_err(spawn_error)?)
            .status()
            .map_err(spawn_error)?;
        if status.success() {
            return Ok(());
        }
        let mut stderr = String::new();
        let _ = errors
            .seek(SeekFrom::Start(0))
            .and_then(|_| errors.read_to_string(&mut stderr));
        Err(EmbeddedError::CommandFailed {
            command: name.to_string(),
            status: status.to_string(),
            stderr: stderr.trim().to_string(),
            log: self.log_path(),
        })
    }

    /// Gives the data folder to the server user, checking it can reach it.
    fn hand_over(&self, dir: &Path) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.server_user {
            if !ancestors_traversable(dir) {
                return Err(EmbeddedError::NotTraversable {
                    user: user.name.clone(),
                    path: dir.to_path_buf(),
                });
            }
        }
        self.give_to_server_user(dir)
    }

    /// Gives a file or folder of the cluster to the server user (when sluice
    /// runs as root on Unix; nothing to do otherwise).
    fn give_to_server_user(&self, path: &Path) -> Result<(), EmbeddedError> {
        #[cfg(unix)]
        if let Some(user) = &self.server_user {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(|source| {
                EmbeddedError::Io {
                    context: "cannot give the data folder to the server user",
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        #[cfg(not(unix))]
        let _ = path;
        Ok(())
    }
}

impl EmbeddedPostgres {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        self.cluster.data_dir()
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// PID of the postmaster (its children are the server's other processes).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }

    /// Whether dropping this handle stops the server.
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// The connection URL of the sluice database, with the cluster's
    /// generated password: print it only where the user asked for it.
    pub fn url(&self) -> String {
        self.url_for(DATABASE_NAME)
    }

    pub fn url_for(&self, database: &str) -> String {
        let password = self
            .cluster
            .password()
            .map_or_else(String::new, |password| format!(":{password}"));
        format!(
            "postgres://{SUPERUSER}{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Leaves the server running after this handle is dropped.
    pub fn detach(mut self) {
        self.owned = false;
    }

    /// Runs `sql` on `database` over a direct connection and returns the
    /// first column of each row. No `psql`: server-only installs (the EDB
    /// installer's "server" component, the npm package of Windows binaries)
    /// ship without it. Its own thread and runtime, so callers may be inside
    /// a Tokio runtime or not.
    fn query(&self, database: &str, sql: &str) -> Result<Vec<String>, EmbeddedError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .dbname(database)
            .connect_timeout(Duration::from_secs(5));
        if let Some(password) = self.cluster.password() {
            config.password(password);
        }
        let statement = sql.to_string();
        let work = move || -> Result<Vec<String>, tokio_postgres::Error> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread Tokio runtime builds");
            runtime.block_on(async move {
                let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                let connection = tokio::spawn(connection);
                let messages = client.simple_query(&statement).await;
                drop(client);
                let _ = connection.await;
                Ok(messages?
                    .into_iter()
                    .filter_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => {
                            Some(row.get(0).unwrap_or_default().to_string())
                        }
                        _ => None,
                    })
                    .collect())
            })
        };
        std::thread::spawn(work)
            .join()
            .expect("the embedded server's query thread does not panic")
            .map_err(|source| EmbeddedError::Query {
                sql: format!("`{sql}` on database {database}"),
                log: self.cluster.log_path(),
                source,
            })
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), EmbeddedError> {
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.query("postgres", "SELECT 1").is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(EmbeddedError::StartTimeout(limit));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates the `sluice` database unless it exists.
    fn create_database(&self) -> Result<(), EmbeddedError> {
        let exists = self.query(
            "postgres",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"),
        )?;
        if exists.is_empty() {
            self.query("postgres", &format!("CREATE DATABASE {DATABASE_NAME}"))?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.owned {
            if let Err(error) = self.cluster.stop() {
                tracing::warn!(%error, "could not stop the embedded PostgreSQL");
            }
        }
    }
}

/// Writes a file only its owner can read (Unix 0600; Windows files inherit
/// the user profile's ACL).
fn write_private(path: &Path, content: &str) -> Result<(), EmbeddedError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(path).and_then(|mut file| {
        use std::io::Write;
        file.write_all(content.as_bytes())
    });
    written.map_err(|source| EmbeddedError::Io {
        context: "cannot write the embedded server's password file",
        path: path.to_path_buf(),
        source,
    })
}

/// Finds the folder holding `initdb` and `pg_ctl`.
pub fn find_binaries() -> Result<PathBuf, EmbeddedError> {
    let has_tools =
        |dir: &Path| dir.join(exe("initdb")).is_file() && dir.join(exe("pg_ctl")).is_file();
    if let Some(dir) = std::env::var_os("SLUICE_PG_BIN").map(PathBuf::from) {
        return if has_tools(&dir) {
            Ok(dir)
        } else {
            Err(EmbeddedError::BinariesNotFound)
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_tools(dir)) {
            return Ok(dir);
        }
    }
    let roots: &[&str] = if cfg!(windows) {
        &[r"C:\Program Files\PostgreSQL"]
    } else {
        &[
            "/usr/lib/postgresql",
            "/usr/local/pgsql",
            "/opt/homebrew/opt",
        ]
    };
    let mut candidates: Vec<PathBuf> = roots
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| has_tools(dir))
        .collect();
    // Highest version first: folder names are major versions.
    candidates.sort_by_key(|dir| {
        let version = dir
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .and_then(|name| {
                name.trim_start_matches(|c: char| !c.is_ascii_digit())
                    .parse::<u32>()
                    .ok()
            })
            .unwrap_or(0);
        std::cmp::Reverse(version)
    });
    candidates
        .into_iter()
        .next()
        .ok_or(EmbeddedError::BinariesNotFound)
}

/// The `psql` client: beside the server binaries when they are found, else
/// the one on PATH (which may not exist: check before relying on it).
pub fn psql_program() -> PathBuf {
    match find_binaries() {
        Ok(dir) => find_program(&dir, "psql"),
        Err(_) => PathBuf::from(exe("psql")),
    }
}

/// `psql` next to the server binaries, else the one on PATH.
fn find_program(bin_dir: &Path, program: &str) -> PathBuf {
    let beside = bin_dir.join(exe(program));
    if beside.is_file() {
        beside
    } else {
        PathBuf::from(exe(program))
    }
}

fn exe(program: &str) -> String {
    format!("{program}{}", std::env::consts::EXE_SUFFIX)
}

fn absolute(path: PathBuf) -> Result<PathBuf, EmbeddedError> {
    if path.is_absolute() {
        return Ok(path);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(&path))
        .map_err(|source| EmbeddedError::Io {
            context: "cannot read the working directory",
            path,
            source,
        })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// The user the server must run as: `None` unless sluice runs as root on Unix.
#[cfg(unix)]
fn server_user() -> Result<Option<ServerUser>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("SLUICE_PG_USER").unwrap_or_else(|_| "postgres".to_string());
    let c_name = std::ffi::CString::new(name.clone())
        .map_err(|_| EmbeddedError::NoServerUser { user: name.clone() })?;
    // SAFETY: getpwnam reads a static record; we copy the two ids out at once
    // and sluice does not call it from several threads at the same time.
    let entry = unsafe { libc::getpwnam(c_name.as_ptr()) };
    if entry.is_null() {
        return Err(EmbeddedError::NoServerUser { user: name });
    }
    // SAFETY: entry is non-null and points to a valid passwd record.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some(ServerUser { name, uid, gid }))
}

#[cfg(not(unix))]
fn server_user() -> Result<Option<ServerUser>, EmbeddedError> {
    // On Windows pg_ctl drops administrator rights by itself.
    Ok(None)
}

/// Whether every ancestor of `path` that exists lets others traverse it.
#[cfg(unix)]
fn ancestors_traversable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .skip(1)
        .filter_map(|dir| std::fs::metadata(dir).ok())
        .all(|meta| meta.permissions().mode() & 0o001 != 0)
}

#[cfg(not(unix))]
fn ancestors_traversable(_path: &Path) -> bool {
    true
}

//! Private PostgreSQL and Redis servers for the tests that stop a store while an app serves
//! and start it again. Each runs on a free port in a temporary directory of its own, so that
//! the shared instances of the machine are never touched.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{temp::TempDir, unique_tag};

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command and panics with its output when it fails.
fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A `redis-server` of this test's own, keeping nothing on disk.
pub struct OwnRedis {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> OwnRedis {
        let mut redis = OwnRedis {
            port: free_port(),
            dir: TempDir::new("own-redis", &unique_tag()),
            child: None,
        };
        redis.start_again();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a paused process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a
    /// server that hangs or a network that drops packets.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        run(Command::new("kill").args([signal, &pid]), "kill");
    }

    /// Starts the server again on the same port.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster of this test's own (`initdb` + `pg_ctl`), trusting local connections.
/// initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
pub struct OwnPostgres {
    port: u16,
    dir: TempDir,
    running: bool,
}

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let dir = TempDir::new("own-postgres", &unique_tag());
        if is_root() {
            run(
                Command::new("chown").arg("postgres:").arg(dir.path()),
                "chown",
            );
        }
        let mut pg = OwnPostgres {
            port: free_port(),
            dir,
            running: false,
        };
        pg.as_owner(
            Command::new("initdb")
                .args(["-U", "postgres", "--auth=trust", "--no-sync", "-D"])
                .arg(pg.data()),
            "initdb",
        );
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `cmd` as the cluster's owner: `postgres` when this test runs as root.
    fn as_owner(&self, cmd: &mut Command, what: &str) {
        if is_root() {
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            run(
                Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(program)
                    .args(args)
                    .current_dir("/"),
                what,
            );
        } else {
            run(cmd, what);
        }
    }

    /// `postgres://…` of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`-m immediate`, as a crash would).
    pub fn stop(&mut self) {
        if self.running {
            self.as_owner(
                Command::new("pg_ctl")
                    .args(["-m", "immediate", "-w", "stop", "-D"])
                    .arg(self.data()),
                "pg_ctl stop",
            );
            self.running = false;
        }
    }

    /// Starts the server again on the same port.
    pub fn start_again(&mut self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.as_owner(
            Command::new("pg_ctl")
                .args(["-w", "-o", &options, "-l"])
                .arg(&log)
                .arg("-D")
                .arg(self.data())
                .arg("start"),
            "pg_ctl start",
        );
        self.running = true;
        wait_for_port(self.port, "postgres");
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

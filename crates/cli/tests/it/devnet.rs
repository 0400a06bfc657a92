//! `lazai devnet` under stress: its own services keep working when the public RPC is full;
//! `--processes` outlives a node that dies and, with `--restart`, brings it back; a taken p2p
//! port is a clear error before anything serves; a closed stdout ends the command quietly.

use crate::process::free_port;
use alloy::transports::http::reqwest;
use alloy_primitives::U256;
use lazai_abi::{FILE_VERIFIED, IVsc as V, VSC_ADDRESS};
use lazai_blob::BlobStore;
use lazai_cli::devnet::cluster;
use lazai_client::Client;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, with_default_idao};
use lazai_types::{Address, DEVNET_CHAIN_ID, lazai};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Opens a WebSocket to `addr` and keeps it open: a held connection of the server's limit.
async fn hold_websocket(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = stream.read(&mut byte).await.expect("read");
        assert_eq!(n, 1, "connection closed during the handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// The HTTP status of an `eth_blockNumber` call to `addr`.
async fn status_of_call(addr: SocketAddr) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{addr}"))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

#[test]
fn the_default_idao_verifies_while_the_public_rpc_is_full() {
    const LIMIT: u32 = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("chain");
    let accounts: Vec<Address> = (0..2)
        .map(|i| dev_account(i).expect("account").address())
        .collect();
    let store = BlobStore::open(
        &lazai_cli::devnet::default_idao::blob_dir(&data_dir)
            .display()
            .to_string(),
    )
    .expect("store");
    let genesis = with_default_idao(
        devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(10_000), 1_000_000_000),
        store.base_url(),
        lazai(10_000),
    );
    let mut settings = NodeSettings::new(
        genesis,
        data_dir.clone(),
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_millis(100),
    );
    settings.rpc.max_connections = LIMIT;
    let p2p = cluster::free_port_run(1).expect("port");
    let keys = vec![lazai_consensus::devnet_key(0)];
    let runtime = settings.runtime().with_worker_threads(2);
    let work = dir.path().to_path_buf();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let (devnet, services) = lazai_cli::devnet::start_in_process(
            context,
            settings,
            keys,
            p2p,
            Some("127.0.0.1:0".parse().expect("addr")),
            &data_dir,
        )
        .await
        .expect("devnet starts");
        let services = services.expect("the default iDAO's services");
        let public = devnet.rpc_addr();
        assert_ne!(devnet.internal_rpc_addr(), public);

        // The public server is full: every connection it allows is taken.
        let mut held = Vec::new();
        for _ in 0..LIMIT {
            held.push(hold_websocket(public).await);
        }
        assert_eq!(
            status_of_call(public).await,
            429,
            "the public limit is full"
        );

        // A contribution still gets verified by the in-process worker and packager.
        let internal = format!("http://{}", devnet.internal_rpc_addr());
        let user =
            Client::signing(&internal, dev_account(1).expect("account"), TIMEOUT).expect("client");
        let idao = U256::from(lazai_cli::devnet::default_idao::DEFAULT_IDAO);
        let text = lazai_cli::devnet::demo::wine_slice(0..50);
        let file = lazai_cli::devnet::demo::submit_file(&user, &store, idao, &work, &text)
            .await
            .expect("contribute");
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            let status = user
                .call(VSC_ADDRESS, V::fileStatusCall { fileId: file })
                .await
                .expect("fileStatus");
            if status.state == FILE_VERIFIED || Instant::now() >= deadline {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(status.state, FILE_VERIFIED, "{status:?}");
        assert!(status.score > 0, "{status:?}");
        assert_eq!(status_of_call(public).await, 429, "still full");
        drop(held);
        services.stop().await;
    });
}

/// Lines a child writes to a pipe, collected by a thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(pipe: impl std::io::Read + Send + 'static) -> Self {
        let lines = Self::default();
        let sink = lines.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("lines").push(line);
            }
        });
        lines
    }

    fn text(&self) -> String {
        self.0.lock().expect("lines").join("\n")
    }

    /// The first line `pick` accepts, waiting up to `TIMEOUT` for it.
    fn wait_for<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(found) = self.0.lock().expect("lines").iter().find_map(|l| pick(l)) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {what} in:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A `lazai devnet --processes` run: stopped with SIGTERM (so it stops its nodes) when
/// dropped, killed with its nodes if it does not stop in time.
struct Supervisor {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    pids: Vec<(String, u32)>,
}

fn signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    let _ = rustix::process::kill_process(pid, signal);
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        signal(self.child.id(), rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for (_, pid) in &self.pids {
            signal(*pid, rustix::process::Signal::KILL);
        }
    }
}

fn heights(ports: &[u16]) -> Vec<Option<u64>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = cluster::http_client().expect("client");
        let mut out = Vec::new();
        for port in ports {
            let url = format!("http://127.0.0.1:{port}");
            out.push(cluster::block_number(&client, &url).await.ok());
        }
        out
    })
}

/// Waits until every node on `ports` has finalized `height`, while the supervisor runs.
fn wait_all(supervisor: &mut Supervisor, ports: &[u16], height: u64) -> u64 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(Some(status)) = supervisor.child.try_wait() {
            panic!(
                "the devnet exited ({status}):\n{}",
                supervisor.stderr.text()
            );
        }
        let now = heights(ports);
        if now.iter().all(|h| h.is_some_and(|h| h >= height)) {
            return now.into_iter().flatten().min().unwrap_or(height);
        }
        assert!(
            Instant::now() < deadline,
            "{ports:?} did not reach {height}: {now:?}\n{}",
            supervisor.stderr.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP/1.1 GET to 127.0.0.1:`port`: the status line, headers and body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn processes_outlive_a_killed_node_and_restart_it() {
    const VICTIM: usize = 2;
    let dir = tempfile::tempdir().expect("tempdir");
    // Validator i: RPC on base + i, p2p on base + 100 + i.
    let base = cluster::free_port_run(usize::from(cluster::P2P_PORT_OFFSET) + 4).expect("ports");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "devnet",
            "--processes",
            "--validators",
            "4",
            "--full-nodes",
            "0",
            "--base-port",
            &base.to_string(),
            "--block-time",
            "100",
            "--data-dir",
            &dir.path().display().to_string(),
            "--restart",
            "--max-restarts",
            "1",
        ])
        .env("LAZAI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lazai devnet --processes");
    let stdout = Lines::collect(child.stdout.take().expect("stdout"));
    let stderr = Lines::collect(child.stderr.take().expect("stderr"));
    let mut devnet = Supervisor {
        child,
        stdout,
        stderr,
        pids: Vec::new(),
    };
    devnet.pids = devnet.stdout.wait_for("pids", |l| {
        let list = l.strip_prefix("pids: ")?;
        list.split(", ")
            .map(|entry| {
                let (name, pid) = entry.split_once(' ')?;
                Some((name.to_string(), pid.parse().ok()?))
            })
            .collect()
    });
    devnet
        .stdout
        .wait_for("finalizing", |l| l.starts_with("finalizing").then_some(()));
    // Every node process serves the explorer on its RPC port.
    for port in [base, base + 3] {
        let head = http_get(port, "/explorer/api/head");
        assert!(head.starts_with("HTTP/1.1 200"), "node on {port}: {head}");
    }
    let victim = format!("validator-{VICTIM}");
    let pid_of = |pids: &[(String, u32)]| {
        pids.iter()
            .find(|(n, _)| *n == victim)
            .map(|(_, p)| *p)
            .expect("the victim's pid")
    };
    let ports: Vec<u16> = (0..4).map(|i| base + i).collect();
    let survivors: Vec<u16> = ports
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != VICTIM)
        .map(|(_, p)| *p)
        .collect();

    // Kill one node: it is reported (which, how, its log) and the others keep finalizing.
    let at_kill = wait_all(&mut devnet, &survivors, 1);
    signal(pid_of(&devnet.pids), rustix::process::Signal::KILL);
    devnet.stderr.wait_for("the exit report", |l| {
        l.starts_with(&format!("{victim} exited (signal: 9"))
            .then_some(())
    });
    let log = dir.path().join(&victim).join(cluster::LOG_FILE);
    devnet.stderr.wait_for("the log path", |l| {
        l.contains(&log.display().to_string()).then_some(())
    });
    let after = wait_all(&mut devnet, &survivors, at_kill + 5);

    // --restart brings it back, and it catches up.
    let pid = devnet.stdout.wait_for("the restart", |l| {
        let rest = l.strip_prefix(&format!("{victim} restarted (pid "))?;
        rest.split(',').next()?.parse::<u32>().ok()
    });
    devnet.pids.push((victim.clone(), pid));
    wait_all(&mut devnet, &ports, after + 1);

    // With its one restart spent, the next exit leaves it down; the others go on.
    signal(pid, rustix::process::Signal::KILL);
    devnet.stderr.wait_for("the final exit", |l| {
        l.starts_with(&format!("{victim} stays down after 1 restarts"))
            .then_some(())
    });
    let now = wait_all(&mut devnet, &survivors, 1);
    wait_all(&mut devnet, &survivors, now + 3);
    assert!(
        devnet.child.try_wait().expect("try_wait").is_none(),
        "the devnet still runs"
    );
}

/// Runs `lazai` with `args` to its end (killing it after a minute) and returns its exit
/// status and stderr.
fn run_to_end(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args(args)
        .env("LAZAI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lazai");
    let stderr = Lines::collect(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lazai {args:?} did not exit:\n{}", stderr.text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The reader thread has seen everything once the pipe is closed.
    std::thread::sleep(Duration::from_millis(100));
    (status, stderr.text())
}

#[test]
fn a_taken_p2p_port_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let rpc = format!("127.0.0.1:{}", free_port());
    let (status, stderr) = run_to_end(&[
        "devnet",
        "--data-dir",
        &dir.path().join("devnet").display().to_string(),
        "--rpc-addr",
        &rpc,
        "--p2p-port",
        &port.to_string(),
    ]);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("p2p port {port} is in use; pass --p2p-port")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // `lazai node` on a config whose p2p address is taken.
    let d = dir.path();
    let key = d.join("validator.key").display().to_string();
    let (ok, err) = run_to_end(&["keys", "generate", "--out", &key]);
    assert!(ok.success(), "{err}");
    let genesis = d.join("genesis.json").display().to_string();
    let spec = format!("{key}@127.0.0.1:{port}");
    let (ok, err) = run_to_end(&[
        "genesis",
        "--validator",
        &spec,
        "--dev-accounts",
        "1",
        "--out",
        &genesis,
    ]);
    assert!(ok.success(), "{err}");
    let config = d.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "genesis = \"genesis.json\"\nkey = \"validator.key\"\ndata_dir = \"data\"\n\
             rpc_addr = \"{rpc}\"\np2p_addr = \"127.0.0.1:{port}\"\n"
        ),
    )
    .expect("config");
    let (status, stderr) = run_to_end(&["node", "--config", &config.display().to_string()]);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("p2p address 127.0.0.1:{port} is in use")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(taken);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("validator.key").display().to_string();
    let (ok, err) = run_to_end(&["keys", "generate", "--out", &key]);
    assert!(ok.success(), "{err}");
    // A pipe whose reader is gone before the command writes: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args(["keys", "show", &key])
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run lazai keys show");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(out.status.success(), "{:?} {stderr}", out.status);
}

/// `lazai genesis` leaves dev ZK setups off unless asked, and warns when they are on.
#[test]
fn genesis_enables_dev_zk_setups_only_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = d.join("validator.key").display().to_string();
    let (ok, err) = run_to_end(&["keys", "generate", "--out", &key]);
    assert!(ok.success(), "{err}");
    let spec = format!("{key}@127.0.0.1:30300");
    for (flag, on) in [(None, false), (Some("--dev-zk-setups"), true)] {
        let out = d.join(format!("genesis-{on}.json")).display().to_string();
        let mut args = vec![
            "genesis",
            "--validator",
            &spec,
            "--dev-accounts",
            "1",
            "--out",
            &out,
        ];
        args.extend(flag);
        let (ok, err) = run_to_end(&args);
        assert!(ok.success(), "{err}");
        let g: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("genesis")).expect("JSON");
        assert_eq!(g["dev_zk_setups"].as_bool().unwrap_or(false), on, "{g}");
        assert_eq!(err.contains("dev_zk_setups is on"), on, "{err}");
    }
}

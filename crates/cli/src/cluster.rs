//! A local network of `lazai node` processes on one machine.
//!
//! A cluster directory holds the shared `genesis.json` and one directory per node
//! (`validator-0`, `validator-1`, ...) with the node's `node.toml`, its key file, its `data`
//! directory and its `node.log`. [`init_or_load`] creates one (fresh keys, a genesis naming
//! every validator's p2p address, one config per node) or reads an existing one, and
//! [`Cluster`] runs one `lazai node --config <dir>/node.toml` process per node. Everything
//! about running a process goes through a [`NodeSpec`] (a config file and where the output
//! goes), so nodes of any role run the same way.

use crate::node::NodeConfig;
use alloy::transports::http::reqwest;
use anyhow::{Context as _, Result, bail};
use lazai_node::devnet_genesis;
use lazai_types::{Address, Genesis, U256};
use std::fmt;
use std::fs::OpenOptions;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The shared genesis, in the cluster directory.
pub const GENESIS_FILE: &str = "genesis.json";
/// A node's config, in its directory.
pub const CONFIG_FILE: &str = "node.toml";
/// A node's stdout and stderr, in its directory (appended to on every start).
pub const LOG_FILE: &str = "node.log";
/// A validator's consensus key, in its directory.
pub const KEY_FILE: &str = "validator.key";
/// Port offset between a node's RPC port and its p2p port under [`loopback_addrs`].
pub const P2P_PORT_OFFSET: u16 = 100;

/// What a new cluster directory is created with.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    pub chain_id: u64,
    /// `(rpc, p2p)` listen addresses of each validator, in genesis order.
    pub validators: Vec<(SocketAddr, SocketAddr)>,
    /// `(rpc, p2p)` listen addresses of non-validating full nodes (`full-node-<i>`), which
    /// every validator lets follow it.
    pub full_nodes: Vec<(SocketAddr, SocketAddr)>,
    /// Accounts funded at genesis (the first is governance).
    pub accounts: Vec<Address>,
    /// Balance of each account, in wei.
    pub balance: U256,
    pub gas_limit: u64,
    pub block_time_ms: u64,
}

/// `count` nodes on 127.0.0.1: node i serves RPC on `base + i` and p2p on
/// `base + P2P_PORT_OFFSET + i`.
pub fn loopback_addrs(base: u16, count: usize) -> Result<Vec<(SocketAddr, SocketAddr)>> {
    (0..count)
        .map(|i| {
            let rpc = u16::try_from(i).ok().and_then(|i| base.checked_add(i));
            let p2p = rpc.and_then(|p| p.checked_add(P2P_PORT_OFFSET));
            match (rpc, p2p) {
                (Some(rpc), Some(p2p)) => Ok((loopback(rpc), loopback(p2p))),
                _ => bail!("base port {base} leaves no room for {count} nodes"),
            }
        })
        .collect()
}

/// Every port this process has handed out, so that nodes started concurrently from one
/// process (tests run in parallel) never get the same port twice, even after the probing
/// listener closed and the OS could give the port to the next probe.
static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// `count` distinct ports on 127.0.0.1 that were free a moment ago and that this process has
/// not handed out before.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    (0..count).map(|_| free_port_run(1)).collect()
}

/// The first of `count` consecutive ports on 127.0.0.1 that were all free a moment ago and
/// that this process has not handed out before (they are recorded as handed out).
pub fn free_port_run(count: usize) -> Result<u16> {
    let mut handed = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for _ in 0..1000 {
        let base = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let Some(end) = (base as usize)
            .checked_add(count)
            .filter(|e| *e <= u16::MAX as usize + 1)
        else {
            continue;
        };
        let run = base..end as u16;
        let free = run.clone().all(|p| {
            !handed.contains(&p) && std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()
        });
        if free {
            handed.extend(run);
            return Ok(base);
        }
    }
    anyhow::bail!("no run of {count} free loopback ports")
}

/// `count` nodes on 127.0.0.1 with RPC and p2p ports that were free a moment ago.
pub fn free_loopback_addrs(count: usize) -> Result<Vec<(SocketAddr, SocketAddr)>> {
    let ports = free_ports(count * 2)?;
    Ok(ports
        .chunks(2)
        .map(|p| (loopback(p[0]), loopback(p[1])))
        .collect())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// One node process: its config file, its addresses (from the config) and its log file.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub config: PathBuf,
    pub rpc_addr: SocketAddr,
    pub p2p_addr: SocketAddr,
    pub log: PathBuf,
}

impl NodeSpec {
    /// The node of `<dir>/node.toml`, named after `dir`, logging to `<dir>/node.log`.
    pub fn load(dir: &Path) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let config = NodeConfig::load(&config_path)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self {
            name,
            config: config_path,
            rpc_addr: config.rpc_addr,
            p2p_addr: config.p2p_addr,
            log: dir.join(LOG_FILE),
        })
    }

    /// The HTTP JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The WebSocket JSON-RPC URL (same port).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }
}

/// A cluster directory and its nodes.
#[derive(Clone, Debug)]
pub struct ClusterLayout {
    pub dir: PathBuf,
    pub genesis: Genesis,
    /// The validators in genesis order, then any other node directories by name.
    pub nodes: Vec<NodeSpec>,
    /// Whether [`init_or_load`] created the directory's files (rather than reusing them).
    pub created: bool,
}

fn validator_dir(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("validator-{i}"))
}

fn full_node_dir(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("full-node-{i}"))
}

/// Reuses the cluster in `dir` if it has a genesis, otherwise creates one from `plan`: a new
/// key, config and log location per validator, and a genesis that funds `plan.accounts`
/// like the in-process devnet does. The genesis is written last, so an interrupted creation
/// is simply redone.
pub fn init_or_load(dir: &Path, plan: &ClusterPlan) -> Result<ClusterLayout> {
    if dir.join(GENESIS_FILE).exists() {
        let layout = load(dir)?;
        if layout.genesis.validators.len() != plan.validators.len() {
            bail!(
                "{} was created with {} validators; start it with --validators {} or use another directory",
                dir.display(),
                layout.genesis.validators.len(),
                layout.genesis.validators.len()
            );
        }
        return Ok(layout);
    }
    create(dir, plan)
}

/// Creates `node_dir` with a new key file and a config listening on `(rpc, p2p)` that accepts
/// `observers`; returns the node's public key.
fn write_node(
    node_dir: &Path,
    (rpc_addr, p2p_addr): (SocketAddr, SocketAddr),
    plan: &ClusterPlan,
    observers: &[crate::node::Observer],
) -> Result<lazai_consensus::keys::PublicKey> {
    std::fs::create_dir_all(node_dir).with_context(|| format!("create {}", node_dir.display()))?;
    let public = crate::keys::generate_key_file(&node_dir.join(KEY_FILE))?;
    NodeConfig {
        genesis: Path::new("..").join(GENESIS_FILE),
        key: KEY_FILE.into(),
        data_dir: "data".into(),
        rpc_addr,
        p2p_addr,
        block_time_ms: plan.block_time_ms,
        observers: observers.to_vec(),
    }
    .store(&node_dir.join(CONFIG_FILE))?;
    Ok(public)
}

fn create(dir: &Path, plan: &ClusterPlan) -> Result<ClusterLayout> {
    if plan.validators.is_empty() {
        bail!("a cluster needs at least one validator");
    }
    let mut genesis = devnet_genesis(
        plan.chain_id,
        0,
        &plan.accounts,
        plan.balance,
        plan.gas_limit,
    );
    // Full nodes first: every validator's config lists them as observers.
    let mut observers = Vec::new();
    for (i, (rpc_addr, p2p_addr)) in plan.full_nodes.iter().enumerate() {
        let public = write_node(&full_node_dir(dir, i), (*rpc_addr, *p2p_addr), plan, &[])?;
        observers.push(crate::node::Observer {
            key: lazai_consensus::keys::public_key_to_hex(&public),
            addr: *p2p_addr,
        });
    }
    for (i, (rpc_addr, p2p_addr)) in plan.validators.iter().enumerate() {
        let public = write_node(
            &validator_dir(dir, i),
            (*rpc_addr, *p2p_addr),
            plan,
            &observers,
        )?;
        genesis
            .validators
            .push(crate::genesis::genesis_validator(i, &public, *p2p_addr));
    }
    if let Err(e) = genesis.validate() {
        bail!("invalid genesis: {e}");
    }
    let path = dir.join(GENESIS_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&genesis)?)
        .with_context(|| format!("write {}", path.display()))?;
    let mut layout = load(dir)?;
    layout.created = true;
    Ok(layout)
}

/// Reads the cluster in `dir`: its genesis, its validators' directories and any other
/// directory holding a node config.
pub fn load(dir: &Path) -> Result<ClusterLayout> {
    let path = dir.join(GENESIS_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let genesis = Genesis::parse(&text).with_context(|| format!("parse {}", path.display()))?;
    let mut nodes = Vec::new();
    let mut validator_dirs = Vec::new();
    for i in 0..genesis.validators.len() {
        let node_dir = validator_dir(dir, i);
        if !node_dir.join(CONFIG_FILE).exists() {
            bail!(
                "{} has a genesis but no {}; it is not a cluster directory (made by `lazai devnet --processes`)",
                dir.display(),
                node_dir.join(CONFIG_FILE).display()
            );
        }
        nodes.push(NodeSpec::load(&node_dir)?);
        validator_dirs.push(node_dir);
    }
    let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(CONFIG_FILE).is_file() && !validator_dirs.contains(p))
        .collect();
    others.sort();
    for d in others {
        nodes.push(NodeSpec::load(&d)?);
    }
    Ok(ClusterLayout {
        dir: dir.to_path_buf(),
        genesis,
        nodes,
        created: false,
    })
}

/// Prints one line per node: name, RPC URL, p2p address, log file.
pub fn print_table(nodes: &[NodeSpec]) {
    let width = nodes.iter().map(|n| n.name.len()).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<26}  {:<21}  log", "name", "rpc", "p2p");
    for n in nodes {
        println!(
            "{:<width$}  {:<26}  {:<21}  {}",
            n.name,
            n.rpc_url(),
            n.p2p_addr,
            n.log.display()
        );
    }
}

/// A node that exited while it was meant to run.
#[derive(Debug)]
pub struct NodeExit {
    pub name: String,
    pub status: ExitStatus,
    pub log: PathBuf,
    /// The last lines of its log.
    pub log_tail: String,
}

impl fmt::Display for NodeExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} exited ({})", self.name, self.status)?;
        writeln!(f, "--- last lines of {} ---", self.log.display())?;
        write!(f, "{}", self.log_tail)
    }
}

impl std::error::Error for NodeExit {}

/// The last `lines` lines of a text file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    out.push('\n');
    out
}

/// A running `lazai node` process. Dropping it kills the process (SIGKILL) if it still runs.
pub struct NodeProcess {
    spec: NodeSpec,
    child: Child,
    exit: Option<ExitStatus>,
    /// Stopped on purpose: not reported by [`Cluster::check`].
    stopped: bool,
}

impl NodeProcess {
    /// Starts `exe node --config <spec.config>` with its output appended to `spec.log`, in its
    /// own process group (so a terminal's Ctrl-C reaches only the process managing it).
    pub fn spawn(exe: &Path, spec: &NodeSpec, log_filter: &str) -> Result<Self> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("open {}", spec.log.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg("node")
            .arg("--config")
            .arg(&spec.config)
            .arg("--log")
            .arg(log_filter)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {} ({})", spec.name, exe.display()))?;
        Ok(Self {
            spec: spec.clone(),
            child,
            exit: None,
            stopped: false,
        })
    }

    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .with_context(|| format!("wait for {}", self.spec.name))?;
        }
        Ok(self.exit)
    }

    /// Asks the process to shut down (SIGTERM; a kill where there are no signals).
    pub fn terminate(&mut self) -> Result<()> {
        self.stopped = true;
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        #[cfg(unix)]
        {
            let pid = rustix::process::Pid::from_child(&self.child);
            match rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
                Err(e) => Err(e).with_context(|| format!("SIGTERM {}", self.spec.name)),
            }
        }
        #[cfg(not(unix))]
        {
            self.child.kill().ok();
            Ok(())
        }
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        self.stopped = true;
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        // It may exit on its own between the check and the kill; the wait reaps it either way.
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .with_context(|| format!("wait for {}", self.spec.name))?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Waits until the process has exited or `deadline` has passed.
    pub fn wait_until(&mut self, deadline: Instant) -> Result<Option<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus> {
        self.terminate()?;
        match self.wait_until(Instant::now() + grace)? {
            Some(status) => Ok(status),
            None => self.kill(),
        }
    }

    fn unexpected_exit(&mut self) -> Result<Option<NodeExit>> {
        if self.stopped {
            return Ok(None);
        }
        Ok(self.try_wait()?.map(|status| NodeExit {
            name: self.spec.name.clone(),
            status,
            log: self.spec.log.clone(),
            log_tail: tail(&self.spec.log, 30),
        }))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The running processes of a cluster. Dropping it kills every process still running.
pub struct Cluster {
    exe: PathBuf,
    log_filter: String,
    nodes: Vec<NodeProcess>,
}

impl Cluster {
    /// Starts one `exe node` process per spec; `log_filter` is each node's `--log`.
    pub fn start(exe: &Path, specs: &[NodeSpec], log_filter: &str) -> Result<Self> {
        let mut cluster = Self {
            exe: exe.to_path_buf(),
            log_filter: log_filter.to_string(),
            nodes: Vec::with_capacity(specs.len()),
        };
        for spec in specs {
            // On error the processes started so far are killed as `cluster` drops.
            cluster
                .nodes
                .push(NodeProcess::spawn(exe, spec, log_filter)?);
        }
        Ok(cluster)
    }

    pub fn nodes(&self) -> &[NodeProcess] {
        &self.nodes
    }

    pub fn node_mut(&mut self, i: usize) -> &mut NodeProcess {
        &mut self.nodes[i]
    }

    /// Starts one more node process, after the others; returns its index.
    pub fn spawn(&mut self, spec: &NodeSpec) -> Result<usize> {
        self.nodes
            .push(NodeProcess::spawn(&self.exe, spec, &self.log_filter)?);
        Ok(self.nodes.len() - 1)
    }

    /// Kills node `i` (SIGKILL) and reaps it.
    pub fn kill(&mut self, i: usize) -> Result<ExitStatus> {
        self.nodes[i].kill()
    }

    /// Starts node `i` again from its config (after it was stopped or killed).
    pub fn restart(&mut self, i: usize) -> Result<()> {
        let node = &mut self.nodes[i];
        if node.try_wait()?.is_none() {
            bail!("{} is still running", node.spec.name);
        }
        let spec = node.spec.clone();
        *node = NodeProcess::spawn(&self.exe, &spec, &self.log_filter)?;
        Ok(())
    }

    /// Fails with the first node that exited without being stopped: its name, exit status
    /// and the tail of its log.
    pub fn check(&mut self) -> Result<(), NodeExit> {
        for node in &mut self.nodes {
            match node.unexpected_exit() {
                Ok(None) => {}
                Ok(Some(exit)) => return Err(exit),
                Err(e) => {
                    return Err(NodeExit {
                        name: node.spec.name.clone(),
                        status: ExitStatus::default(),
                        log: node.spec.log.clone(),
                        log_tail: format!("{e:#}\n"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Stops every process: SIGTERM to all, then SIGKILL to those still running after
    /// `grace`. Returns each node's name and exit status.
    pub fn stop(&mut self, grace: Duration) -> Vec<(String, Result<ExitStatus>)> {
        let terminated: Vec<Result<()>> = self.nodes.iter_mut().map(|n| n.terminate()).collect();
        let deadline = Instant::now() + grace;
        self.nodes
            .iter_mut()
            .zip(terminated)
            .map(|(n, t)| {
                let status = t.and_then(|()| match n.wait_until(deadline)? {
                    Some(status) => Ok(status),
                    None => n.kill(),
                });
                (n.spec.name.clone(), status)
            })
            .collect()
    }

    /// Waits until every running node answers JSON-RPC and the chain finalizes a block past
    /// the highest height any of them reported when they all first answered (the first block
    /// on a new chain), and every running node has it. Fails as soon as a node exits, or
    /// after `timeout`. Returns the lowest height of the running nodes.
    pub async fn wait_finalizing(&mut self, timeout: Duration) -> Result<u64> {
        let client = http_client()?;
        let deadline = Instant::now() + timeout;
        let mut target = None;
        loop {
            self.check()?;
            let mut heights = Vec::new();
            for node in &mut self.nodes {
                if node.stopped {
                    continue;
                }
                let url = node.spec.rpc_url();
                heights.push((
                    node.spec.name.clone(),
                    block_number(&client, &url).await.ok(),
                ));
            }
            if target.is_none() && heights.iter().all(|(_, h)| h.is_some()) {
                target = Some(heights.iter().filter_map(|(_, h)| *h).max().unwrap_or(0) + 1);
            }
            if let Some(target) = target
                && heights.iter().all(|(_, h)| h.is_some_and(|h| h >= target))
            {
                return Ok(heights.iter().filter_map(|(_, h)| *h).min().unwrap_or(0));
            }
            if Instant::now() >= deadline {
                let report: Vec<String> = heights
                    .iter()
                    .map(|(name, h)| match h {
                        Some(h) => format!("{name} at height {h}"),
                        None => format!("{name} not answering"),
                    })
                    .collect();
                bail!(
                    "the cluster did not finalize a block within {} s ({})",
                    timeout.as_secs(),
                    report.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Resolves with the first node that exits without being stopped (polling).
    pub async fn watch(&mut self) -> NodeExit {
        loop {
            if let Err(exit) = self.check() {
                return exit;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Keeps the cluster running: a node that exits on its own is reported to `report`
    /// and, while `policy` allows, started again after a backoff; the other nodes are left
    /// alone. Returns once no node runs and none is due to restart. Cancel the future to
    /// stop supervising (the nodes keep running until [`Cluster::stop`]).
    pub async fn supervise(&mut self, policy: RestartPolicy, mut report: impl FnMut(Event)) {
        let mut states = vec![Supervised::default(); self.nodes.len()];
        loop {
            let now = Instant::now();
            for (i, state) in states.iter_mut().enumerate() {
                if let Some(due) = state.restart_at
                    && due <= now
                {
                    state.restart_at = None;
                    state.restarts += 1;
                    let name = self.nodes[i].spec.name.clone();
                    match self.restart(i) {
                        Ok(()) => {
                            state.down = false;
                            report(Event::Restarted {
                                name,
                                pid: self.nodes[i].pid(),
                                restart: state.restarts,
                            });
                        }
                        Err(error) => {
                            report(Event::RestartFailed { name, error });
                            state.restart_at = policy.next(state.restarts).map(|d| now + d);
                        }
                    }
                    continue;
                }
                if state.down {
                    continue;
                }
                let exit = match self.nodes[i].unexpected_exit() {
                    Ok(None) => continue,
                    Ok(Some(exit)) => exit,
                    Err(error) => {
                        state.down = true;
                        report(Event::RestartFailed {
                            name: self.nodes[i].spec.name.clone(),
                            error,
                        });
                        continue;
                    }
                };
                state.down = true;
                let restart_in = policy.next(state.restarts);
                state.restart_at = restart_in.map(|d| now + d);
                report(Event::Exited {
                    exit,
                    restart_in,
                    restarts: state.restarts,
                });
            }
            let running = self
                .nodes
                .iter()
                .zip(&states)
                .any(|(n, s)| s.restart_at.is_some() || (!s.down && !n.stopped));
            if !running {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// When [`Cluster::supervise`] restarts a node that exited on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts of one node before it is left down (0: never restart).
    pub max_restarts: u32,
    /// Wait before a node's first restart; doubled for each later one.
    pub backoff: Duration,
    /// Longest wait before a restart.
    pub max_backoff: Duration,
}

impl RestartPolicy {
    /// Never restart.
    pub const NEVER: Self = Self {
        max_restarts: 0,
        backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// Up to `max_restarts` restarts per node, 1 s after the first exit, doubling up to 30 s.
    pub fn up_to(max_restarts: u32) -> Self {
        Self {
            max_restarts,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }

    /// The wait before restart number `done + 1` of a node restarted `done` times, or `None`
    /// when it has had all its restarts.
    pub fn next(&self, done: u32) -> Option<Duration> {
        (done < self.max_restarts).then(|| {
            self.backoff
                .saturating_mul(1u32.checked_shl(done).unwrap_or(u32::MAX))
                .min(self.max_backoff)
        })
    }
}

/// What [`Cluster::supervise`] saw or did.
#[derive(Debug)]
pub enum Event {
    /// A node exited on its own; it restarts after `restart_in`, or stays down (`None`).
    /// `restarts` is how often it was restarted before.
    Exited {
        exit: NodeExit,
        restart_in: Option<Duration>,
        restarts: u32,
    },
    /// A node was started again: its new process id and how many restarts it has had.
    Restarted {
        name: String,
        pid: u32,
        restart: u32,
    },
    /// A node could not be started again, or its state could not be read.
    RestartFailed { name: String, error: anyhow::Error },
}

/// A node's state under [`Cluster::supervise`].
#[derive(Clone, Debug, Default)]
struct Supervised {
    /// Its exit has been reported and it is not running.
    down: bool,
    restarts: u32,
    restart_at: Option<Instant>,
}

/// An HTTP client for short JSON-RPC calls to local nodes.
pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .context("HTTP client")
}

/// One JSON-RPC call; the `result`, or the JSON-RPC error as an error.
pub async fn rpc_call(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let bytes = client
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body)?)
        .send()
        .await
        .with_context(|| format!("{method} to {url}"))?
        .bytes()
        .await
        .with_context(|| format!("{method} reply from {url}"))?;
    let reply: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{method} reply from {url}"))?;
    if let Some(e) = reply.get("error") {
        bail!("{method} to {url}: {e}");
    }
    Ok(reply.get("result").cloned().unwrap_or_default())
}

/// `eth_blockNumber`: the node's last finalized height.
pub async fn block_number(client: &reqwest::Client, url: &str) -> Result<u64> {
    let v = rpc_call(client, url, "eth_blockNumber", serde_json::json!([])).await?;
    parse_quantity(&v).with_context(|| format!("eth_blockNumber from {url}: {v}"))
}

/// A hex quantity (`"0x1a"`).
pub fn parse_quantity(v: &serde_json::Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

/// `eth_getBlockByNumber(height, false)`: the block with transaction hashes; fails if the node
/// does not have it.
pub async fn block_by_number(
    client: &reqwest::Client,
    url: &str,
    height: u64,
) -> Result<serde_json::Value> {
    let block = rpc_call(
        client,
        url,
        "eth_getBlockByNumber",
        serde_json::json!([format!("{height:#x}"), false]),
    )
    .await?;
    if block.is_null() {
        bail!("{url} has no block {height}");
    }
    Ok(block)
}

/// A block every node has, with the same hash and state root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub height: u64,
    pub hash: String,
    pub state_root: String,
}

/// Checks that every node reports the same block hash and state root at the lowest height
/// all of them have finalized.
pub async fn agreement(nodes: &[NodeSpec]) -> Result<Agreement> {
    if nodes.is_empty() {
        bail!("no nodes");
    }
    let client = http_client()?;
    let mut height = u64::MAX;
    for n in nodes {
        height = height.min(block_number(&client, &n.rpc_url()).await?);
    }
    agreement_at(nodes, height).await
}

/// Checks that every node reports the same block hash and state root at `height`.
pub async fn agreement_at(nodes: &[NodeSpec], height: u64) -> Result<Agreement> {
    if nodes.is_empty() {
        bail!("no nodes");
    }
    let client = http_client()?;
    let mut seen: Vec<(String, Agreement)> = Vec::new();
    for n in nodes {
        let block = block_by_number(&client, &n.rpc_url(), height).await?;
        let field = |k: &str| {
            block
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        seen.push((
            n.name.clone(),
            Agreement {
                height,
                hash: field("hash"),
                state_root: field("stateRoot"),
            },
        ));
    }
    let first = seen[0].1.clone();
    if seen.iter().any(|(_, a)| *a != first) {
        let lines: Vec<String> = seen
            .iter()
            .map(|(name, a)| format!("{name}: hash {} state root {}", a.hash, a.state_root))
            .collect();
        bail!(
            "the nodes disagree at height {height}: {}",
            lines.join("; ")
        );
    }
    Ok(first)
}

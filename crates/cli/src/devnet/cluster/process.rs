//! Running the nodes: one `lazai node` process per [`NodeSpec`], the [`Cluster`] of them, and
//! its supervision (exits reported, restarts by a [`RestartPolicy`]).

use super::rpc::{block_number, http_client};
use super::spec::NodeSpec;
use anyhow::{Context as _, Result, bail};
use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

//! `lazai dat` against a real `lazai devnet` process: create a class, mint, settle revenue,
//! read it pending, claim it, show tokens and classes, record usage (and fail beyond the quota
//! with the module's custom error), move value and tokens — every step through the binary.

use crate::process::{provider, wait_for_height};
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use lazai_node::dev_account;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const KEY_ENV: &str = "LAZAI_PRIVATE_KEY";

pub(crate) fn free_port() -> u16 {
    lazai_cli::devnet::cluster::free_ports(1).expect("a free port")[0]
}

/// Kills the devnet when dropped, so a failing test leaves no process behind.
pub(crate) struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `lazai devnet` with a 100 ms block time and `extra` flags.
pub(crate) fn devnet(dir: &Path, rpc: u16, p2p: u16, extra: &[&str]) -> Devnet {
    let child = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "devnet",
            "--data-dir",
            &dir.display().to_string(),
            "--rpc-addr",
            &format!("127.0.0.1:{rpc}"),
            "--p2p-port",
            &p2p.to_string(),
            "--block-time",
            "100",
        ])
        .args(extra)
        .env("LAZAI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lazai devnet");
    Devnet(child)
}

/// One finished `lazai dat …` run.
pub(crate) struct Run {
    out: Output,
    what: String,
}

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// Its stdout; panics with both streams unless it succeeded.
    pub(crate) fn ok(&self) -> String {
        assert!(
            self.out.status.success(),
            "`{}` failed ({}):\nstdout: {}\nstderr: {}",
            self.what,
            self.out.status,
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Its stdout as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("`{}`: {e}: {out}", self.what))
    }

    /// Its stderr; panics unless it failed with a non-zero exit code.
    pub(crate) fn failed(&self) -> String {
        let code = self.out.status.code();
        assert!(
            code.is_some_and(|c| c != 0),
            "`{}` should have failed, exited with {code:?}:\nstdout: {}\nstderr: {}",
            self.what,
            self.stdout(),
            self.stderr()
        );
        self.stderr()
    }
}

pub(crate) struct Cli {
    pub(crate) rpc: String,
    /// The command group: `dat`, `data`, …
    pub(crate) group: &'static str,
}

impl Cli {
    /// Runs `lazai GROUP ARGS --rpc URL`, with `LAZAI_PRIVATE_KEY` set to `env_key` (or
    /// unset).
    pub(crate) fn run_env(&self, args: &[&str], env_key: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lazai"));
        cmd.arg(self.group)
            .args(args)
            .args(["--rpc", &self.rpc])
            .env("LAZAI_LOG", "warn")
            .env_remove(KEY_ENV)
            .stdin(Stdio::null());
        if let Some(key) = env_key {
            cmd.env(KEY_ENV, key);
        }
        let out = cmd.output().expect("run lazai");
        Run {
            out,
            what: format!("lazai {} {}", self.group, args.join(" ")),
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, None)
    }
}

/// The value of the `label` line of a text output (`label   value`).
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

pub(crate) fn key_hex(signer: &PrivateKeySigner) -> String {
    signer.to_bytes().to_string()
}

pub(crate) fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dat_classes_tokens_revenue_and_usage_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc_port, p2p) = (free_port(), free_port());
    // Without the default iDAO, whose dataset class would be class 1.
    let _devnet = devnet(dir.path(), rpc_port, p2p, &["--no-default-idao"]);
    let p = provider(rpc_port);
    wait_for_height(&p, 1).await;
    let cli = Cli {
        rpc: format!("http://127.0.0.1:{rpc_port}"),
        group: "dat",
    };

    let creator = dev_account(1).expect("account 1");
    let holder = dev_account(2).expect("account 2");
    let other = dev_account(3).expect("account 3");
    let (creator_key, holder_key, other_key) =
        (key_hex(&creator), key_hex(&holder), key_hex(&other));
    let holder_key_file = dir.path().join("holder.key");
    std::fs::write(&holder_key_file, format!("{holder_key}\n")).expect("key file");
    let holder_key_file = holder_key_file.display().to_string();
    let (holder_addr, other_addr) = (holder.address().to_string(), other.address().to_string());

    // Sending needs a signer.
    let err = cli
        .run(&["class", "create", "--uri", "ipfs://nothing"])
        .failed();
    assert!(err.contains("no signer"), "{err}");
    assert!(err.contains("LAZAI_PRIVATE_KEY"), "{err}");

    // A class with 2 unit decimals.
    let hash = format!("0x{}", "ab".repeat(32));
    let out = cli
        .run(&[
            "class",
            "create",
            "--uri",
            "ipfs://dataset",
            "--integrity-hash",
            &hash,
            "--decimals",
            "2",
            "--policy",
            "https://example.org/policy",
            "--key",
            &creator_key,
        ])
        .ok();
    let class = field(&out, "class id");
    assert!(field(&out, "tx").starts_with("0x"), "{out}");
    assert_eq!(class, "1");

    // Two tokens: weight 3 forever, weight 1 for 30 days.
    let a = cli
        .run(&[
            "mint",
            "--class",
            &class,
            "--to",
            &holder_addr,
            "--value",
            "10.5",
            "--share",
            "3",
            "--key",
            &creator_key,
            "--json",
        ])
        .json();
    let token_a = s(&a["tokenId"]).to_string();
    assert_eq!(s(&a["value"]), "1050");
    assert_eq!(a["expireAt"], 0);
    assert!(s(&a["tx"]).starts_with("0x"));
    let out = cli
        .run(&[
            "mint",
            "--class",
            &class,
            "--to",
            &other_addr,
            "--value",
            "5",
            "--share",
            "1",
            "--expires",
            "+30d",
            "--key",
            &creator_key,
        ])
        .ok();
    let token_b = field(&out, "token id");
    assert_ne!(token_a, token_b);
    // Only the creator (or a minter-role module) mints.
    let err = cli
        .run(&[
            "mint",
            "--class",
            &class,
            "--to",
            &holder_addr,
            "--value",
            "1",
            "--share",
            "1",
            "--key",
            &holder_key,
        ])
        .failed();
    assert!(err.contains("NotMinter(classId: 1, caller: "), "{err}");

    // 1.5 LAZAI of revenue (signer from the environment), shared 3:1.
    let out = cli
        .run_env(
            &["settle", "--class", &class, "--amount", "1.5"],
            Some(&creator_key),
        )
        .ok();
    assert!(out.contains("settled       1.5 LAZAI on class 1"), "{out}");
    assert_eq!(cli.run(&["pending", &token_a]).ok().trim(), "1.125 LAZAI");
    let pending_b = cli.run(&["pending", &token_b, "--json"]).json();
    assert_eq!(s(&pending_b["pendingWei"]), "375000000000000000");
    assert_eq!(s(&pending_b["pending"]), "0.375");

    // The holder claims (key from a file) to a fresh address: exactly 1.125 LAZAI arrive.
    let payee = Address::repeat_byte(0x5a);
    let out = cli
        .run(&[
            "claim",
            &token_a,
            "--to",
            &payee.to_string(),
            "--key-file",
            &holder_key_file,
        ])
        .ok();
    assert!(
        out.contains(&format!("claimed       1.125 LAZAI to {payee}")),
        "{out}"
    );
    assert_eq!(
        p.get_balance(payee).await.expect("balance"),
        U256::from(1_125_000_000_000_000_000u128)
    );
    assert_eq!(cli.run(&["pending", &token_a]).ok().trim(), "0 LAZAI");
    let err = cli.run(&["claim", &token_a, "--key", &holder_key]).failed();
    assert!(err.contains("NothingToClaim(tokenId: "), "{err}");
    let err = cli.run(&["claim", &token_b, "--key", &holder_key]).failed();
    assert!(err.contains("NotTokenOwner("), "{err}");

    // Tokens.
    let out = cli.run(&["show", &token_a]).ok();
    assert_eq!(field(&out, "class "), "1");
    assert_eq!(field(&out, "owner"), holder_addr);
    assert_eq!(field(&out, "value"), "10.5");
    assert_eq!(field(&out, "share"), "3");
    assert_eq!(field(&out, "expires"), "never");
    assert_eq!(field(&out, "expired"), "no");
    assert_eq!(field(&out, "class URI"), "ipfs://dataset");
    assert_eq!(field(&out, "pending"), "0 LAZAI");
    let b = cli.run(&["show", &token_b, "--json"]).json();
    assert_eq!(s(&b["owner"]), other_addr);
    assert_eq!(s(&b["valueUnits"]), "5");
    assert_eq!(s(&b["value"]), "500");
    assert_eq!(b["expired"], false);
    let expire_at = b["expireAt"].as_u64().expect("expireAt");
    let minted_at = b["mintedAt"].as_u64().expect("mintedAt");
    assert!(
        expire_at.abs_diff(minted_at + 30 * 86_400) < 120,
        "{expire_at} vs {minted_at}"
    );
    assert_eq!(
        s(&b["expireAtUtc"]),
        lazai_cli::kit::units::format_utc(expire_at),
        "{b}"
    );
    assert_eq!(s(&b["pending"]), "0.375");
    let err = cli.run(&["show", "999"]).failed();
    assert!(err.contains("TokenNotFound(tokenId: 999)"), "{err}");

    // The class.
    let out = cli.run(&["class", "show", &class]).ok();
    assert_eq!(field(&out, "creator"), creator.address().to_string());
    assert_eq!(field(&out, "metadata URI"), "ipfs://dataset");
    assert_eq!(field(&out, "policy URI"), "https://example.org/policy");
    assert_eq!(field(&out, "integrity"), hash);
    assert_eq!(field(&out, "decimals"), "2");
    assert_eq!(field(&out, "kind"), "semi-fungible (ERC-8028)");
    assert_eq!(field(&out, "verified"), "no");
    assert_eq!(field(&out, "total share"), "4");
    assert_eq!(field(&out, "total value"), "15.5");
    assert_eq!(field(&out, "tokens"), "2");
    assert!(field(&out, "created").ends_with(" UTC"), "{out}");
    assert_eq!(field(&out, "revenue"), "settled 1.5 LAZAI");
    assert!(out.contains("claimed 1.125 LAZAI"), "{out}");
    let c = cli.run(&["class", "show", &class, "--json"]).json();
    assert_eq!(s(&c["revenue"]["settledWei"]), "1500000000000000000");
    assert_eq!(s(&c["revenue"]["claimed"]), "1.125");
    // 1.5e18 wei over a total share of 4, scaled by 1e18.
    assert_eq!(
        s(&c["revenue"]["accRevenuePerShare"]),
        "375000000000000000000000000000000000"
    );
    assert_eq!(c["fungible"], false);
    let err = cli.run(&["class", "show", "77"]).failed();
    assert!(err.contains("ClassNotFound(classId: 77)"), "{err}");

    // Usage consumes the quota; beyond it the module refuses with QuotaExceeded.
    let out = cli
        .run(&["usage", &token_a, "--amount", "4", "--key", &holder_key])
        .ok();
    assert_eq!(field(&out, "remaining"), "6.5");
    assert_eq!(field(&out, "total usage"), "4");
    let u = cli
        .run(&[
            "usage",
            &token_a,
            "--amount",
            "0.25",
            "--metric",
            "training",
            "--key",
            &holder_key,
            "--json",
        ])
        .json();
    assert_eq!(s(&u["remaining"]), "625");
    assert_eq!(s(&u["totalUsage"]), "25");
    assert_eq!(
        s(&u["metricType"]),
        alloy_primitives::keccak256(b"training").to_string()
    );
    let run = cli.run(&["usage", &token_a, "--amount", "100", "--key", &holder_key]);
    let err = run.failed();
    assert!(
        err.contains(&format!(
            "QuotaExceeded(tokenId: {token_a}, remaining: 625, requested: 10000)"
        )),
        "{err}"
    );
    // Someone else may not record usage on the holder's token.
    let err = cli
        .run(&["usage", &token_a, "--amount", "1", "--key", &other_key])
        .failed();
    assert!(err.contains("UsageNotAuthorised("), "{err}");
    assert_eq!(field(&cli.run(&["show", &token_a]).ok(), "value"), "6.25");

    // An expiring token: usage works until the first block at or past its expiry, then the
    // module refuses it (whether at estimation or in the block, the error is named).
    let out = cli
        .run(&[
            "mint",
            "--class",
            &class,
            "--to",
            &holder_addr,
            "--value",
            "100",
            "--share",
            "1",
            "--expires",
            "+2s",
            "--key",
            &creator_key,
        ])
        .ok();
    let token_c = field(&out, "token id");
    let mut refused = None;
    for _ in 0..100 {
        let run = cli.run(&["usage", &token_c, "--amount", "1", "--key", &holder_key]);
        if !run.out.status.success() {
            refused = Some(run.failed());
            break;
        }
    }
    let err = refused.expect("usage of an expired token is refused");
    assert!(
        err.contains(&format!("TokenExpired(tokenId: {token_c}, expireAt: ")),
        "{err}"
    );
    let out = cli.run(&["show", &token_c]).ok();
    assert_eq!(field(&out, "expired"), "yes");
    assert!(field(&out, "expires").ends_with(" UTC"), "{out}");

    // Value moves between tokens of the class, and whole tokens between owners.
    let out = cli
        .run(&[
            "transfer",
            &token_a,
            "--to-token",
            &token_b,
            "--value",
            "0.25",
            "--key",
            &holder_key,
        ])
        .ok();
    assert!(
        out.contains(&format!(
            "moved 0.25 from token {token_a} to token {token_b}"
        )),
        "{out}"
    );
    cli.run(&[
        "transfer",
        &token_b,
        "--to",
        &holder_addr,
        "--key",
        &other_key,
    ])
    .ok();
    let b = cli.run(&["show", &token_b, "--json"]).json();
    assert_eq!(s(&b["owner"]), holder_addr);
    assert_eq!(s(&b["valueUnits"]), "5.25");
    let err = cli
        .run(&[
            "transfer",
            &token_b,
            "--to",
            &other_addr,
            "--key",
            &other_key,
        ])
        .failed();
    assert!(err.contains("NotOwnerNorApproved("), "{err}");
    // The new owner claims what the token had accrued.
    let c = cli
        .run(&["claim", &token_b, "--key", &holder_key, "--json"])
        .json();
    assert_eq!(s(&c["amountWei"]), "375000000000000000");
    assert_eq!(s(&c["to"]), holder_addr);
}

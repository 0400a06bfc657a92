//! `lazai status`: a node's height, finalized block, state root, validators and peers.

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context as _, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// JSON-RPC URL of the node.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Print the raw JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let url = args
            .rpc
            .parse()
            .with_context(|| format!("bad RPC URL {:?}", args.rpc))?;
        let provider = ProviderBuilder::new().connect_http(url);
        let status: serde_json::Value = provider
            .raw_request("lazai_status".into(), ())
            .await
            .with_context(|| format!("query {}", args.rpc))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&status)?);
            return Ok(());
        }
        let get = |k: &str| {
            status
                .get(k)
                .map(|v| v.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        };
        println!("chain id         {}", get("chainId"));
        println!("height           {}", get("height"));
        println!(
            "finalized        {} ({})",
            get("finalizedHeight"),
            get("finalizedHash")
        );
        println!("state root       {}", get("stateRoot"));
        println!("epoch            {}", get("epoch"));
        println!("peers            {}", get("peers"));
        println!("mempool          {}", get("mempoolSize"));
        if let Some(vals) = status.get("validators").and_then(|v| v.as_array()) {
            println!("validators       {}", vals.len());
            for v in vals {
                let f = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                println!(
                    "  {:<14} {}  stake {:>14}  key {}",
                    f("name"),
                    f("address"),
                    whole_lazai(&f("stake")),
                    f("consensusKey")
                );
            }
        }
        Ok(())
    })
}

/// A wei quantity (hex or decimal) as LAZAI with up to four decimals.
fn whole_lazai(quantity: &str) -> String {
    let parsed = match quantity.strip_prefix("0x") {
        Some(hex) => alloy_primitives::U256::from_str_radix(hex, 16),
        None => alloy_primitives::U256::from_str_radix(quantity, 10),
    };
    let Ok(wei) = parsed else {
        return quantity.to_string();
    };
    let unit = alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18));
    let whole = wei / unit;
    let frac = (wei % unit) / alloy_primitives::U256::from(100_000_000_000_000u64);
    if frac.is_zero() {
        format!("{whole} LAZAI")
    } else {
        format!("{whole}.{:04} LAZAI", frac.to::<u64>())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_stake_in_lazai() {
        assert_eq!(super::whole_lazai("0x3635c9adc5dea00000"), "1000 LAZAI");
        assert_eq!(super::whole_lazai("1500000000000000000"), "1.5000 LAZAI");
        assert_eq!(super::whole_lazai("junk"), "junk");
    }
}

//! The `lazai dat` subcommands, one function each.

use super::args::{
    ClaimArgs, ClassCommand, ClassCreateArgs, ClassShowArgs, DatCommand, MintArgs, PendingArgs,
    SettleArgs, ShowArgs, TransferArgs, UsageArgs,
};
use super::client::{Client, event};
use crate::kit::output::{or_dash, print_json, print_tx, tx_json, utc_or_never, yes_no};
use crate::kit::units::{
    LAZAI_DECIMALS, format_lazai, format_units, format_utc, metric_id, parse_expiry, parse_lazai,
    parse_units, unix_now,
};
use alloy_primitives::U256;
use anyhow::{Context as _, Result, bail};
use lazai_abi::{IDataAnchoringToken as I, NATIVE_ASSET};
use serde_json::json;

async fn class_create(a: ClassCreateArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let receipt = c
        .send(
            I::createClassCall {
                metadataURI: a.uri,
                integrityHash: a.integrity_hash.unwrap_or_default(),
                unitDecimals: a.decimals,
                policyURI: a.policy,
            },
            U256::ZERO,
        )
        .await?;
    let created = event::<I::ClassCreated>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "classId": created.classId.to_string(), "creator": created.creator.to_string() }),
        );
    }
    print_tx(&receipt);
    println!("class id      {}", created.classId);
    Ok(())
}

async fn class_show(a: ClassShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let class = c.class(a.id).await?;
    let rev = c
        .call(I::classRevenueCall {
            classId: a.id,
            asset: NATIVE_ASSET,
        })
        .await?;
    let d = class.unitDecimals;
    if a.read.json {
        return print_json(
            json!({
                "id": class.id.to_string(),
                "creator": class.creator.to_string(),
                "metadataURI": class.metadataURI,
                "policyURI": class.policyURI,
                "integrityHash": class.integrityHash,
                "unitDecimals": d,
                "fungible": class.fungible,
                "verified": class.verified,
                "totalShare": class.totalShare.to_string(),
                "totalValue": class.totalValue.to_string(),
                "totalValueUnits": format_units(class.totalValue, d),
                "tokenCount": class.tokenCount.to_string(),
                "createdAt": class.createdAt,
                "createdAtUtc": format_utc(class.createdAt),
            }),
            json!({
                "revenue": {
                    "settledWei": rev.settled.to_string(),
                    "settled": format_units(rev.settled, LAZAI_DECIMALS),
                    "claimedWei": rev.claimed.to_string(),
                    "claimed": format_units(rev.claimed, LAZAI_DECIMALS),
                    "accRevenuePerShare": rev.accRevenuePerShare.to_string(),
                    "carry": rev.carry.to_string(),
                }
            }),
        );
    }
    let kind = if class.fungible {
        "fungible (ERC-1155, legacy mint)"
    } else {
        "semi-fungible (ERC-8028)"
    };
    println!("class         {}", class.id);
    println!("creator       {}", class.creator);
    println!("metadata URI  {}", or_dash(&class.metadataURI));
    println!("policy URI    {}", or_dash(&class.policyURI));
    println!("integrity     {}", class.integrityHash);
    println!("decimals      {d}");
    println!("kind          {kind}");
    println!("verified      {}", yes_no(class.verified));
    println!("total share   {}", class.totalShare);
    println!("total value   {}", format_units(class.totalValue, d));
    println!("tokens        {}", class.tokenCount);
    println!("created       {}", format_utc(class.createdAt));
    println!("revenue       settled {}", format_lazai(rev.settled));
    println!("              claimed {}", format_lazai(rev.claimed));
    println!(
        "              accumulator {} (wei per share x 1e18)",
        rev.accRevenuePerShare
    );
    Ok(())
}

async fn mint(a: MintArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let class = c.class(a.class).await?;
    let value = parse_units(&a.value, class.unitDecimals).with_context(|| {
        format!(
            "--value (class {} has {} unit decimals)",
            a.class, class.unitDecimals
        )
    })?;
    let expire_at = match &a.expires {
        Some(e) => parse_expiry(e, unix_now()).context("--expires")?,
        None => 0,
    };
    let receipt = c
        .send(
            I::mint_0Call {
                classId: a.class,
                to: a.to,
                value,
                shareRatio: a.share,
                expireAt: expire_at,
            },
            U256::ZERO,
        )
        .await?;
    let minted = event::<I::Minted>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": minted.tokenId.to_string(),
                "classId": minted.classId.to_string(),
                "to": minted.to.to_string(),
                "value": minted.value.to_string(),
                "shareRatio": minted.shareRatio.to_string(),
                "expireAt": minted.expireAt,
            }),
        );
    }
    print_tx(&receipt);
    println!("token id      {}", minted.tokenId);
    Ok(())
}

async fn show(a: ShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let t = c.token(a.token).await?;
    let class = c.class(t.classId).await?;
    let pending = c.pending(a.token).await?;
    let d = class.unitDecimals;
    if a.read.json {
        return print_json(
            json!({
                "id": t.id.to_string(),
                "classId": t.classId.to_string(),
                "owner": t.owner.to_string(),
                "value": t.value.to_string(),
                "valueUnits": format_units(t.value, d),
                "unitDecimals": d,
                "shareRatio": t.shareRatio.to_string(),
                "expireAt": t.expireAt,
                "expireAtUtc": (t.expireAt != 0).then(|| format_utc(t.expireAt)),
                "expired": t.expired,
                "mintedAt": t.mintedAt,
                "mintedAtUtc": format_utc(t.mintedAt),
                "classURI": class.metadataURI,
            }),
            json!({
                "pendingWei": pending.to_string(),
                "pending": format_units(pending, LAZAI_DECIMALS),
            }),
        );
    }
    println!("token         {}", t.id);
    println!("class         {}", t.classId);
    println!("owner         {}", t.owner);
    println!("value         {}", format_units(t.value, d));
    println!("share         {}", t.shareRatio);
    println!("expires       {}", utc_or_never(t.expireAt));
    println!("expired       {}", yes_no(t.expired));
    println!("minted        {}", format_utc(t.mintedAt));
    println!("class URI     {}", or_dash(&class.metadataURI));
    println!("pending       {}", format_lazai(pending));
    Ok(())
}

async fn transfer(a: TransferArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    match (a.to, a.to_token, a.value) {
        (Some(to), None, None) => {
            let receipt = c
                .send(
                    I::transferTokenCall {
                        tokenId: a.token,
                        to,
                    },
                    U256::ZERO,
                )
                .await?;
            if a.tx.json {
                return print_json(
                    tx_json(&receipt),
                    json!({ "tokenId": a.token.to_string(), "to": to.to_string() }),
                );
            }
            print_tx(&receipt);
            println!("token {} now owned by {to}", a.token);
        }
        (None, Some(to_token), Some(value)) => {
            let t = c.token(a.token).await?;
            let d = c.class(t.classId).await?.unitDecimals;
            let value = parse_units(&value, d)
                .with_context(|| format!("--value (class {} has {d} unit decimals)", t.classId))?;
            let receipt = c
                .send(
                    I::transferValueCall {
                        fromTokenId: a.token,
                        toTokenId: to_token,
                        value,
                    },
                    U256::ZERO,
                )
                .await?;
            if a.tx.json {
                return print_json(
                    tx_json(&receipt),
                    json!({
                        "fromTokenId": a.token.to_string(),
                        "toTokenId": to_token.to_string(),
                        "value": value.to_string(),
                    }),
                );
            }
            print_tx(&receipt);
            println!(
                "moved {} from token {} to token {to_token}",
                format_units(value, d),
                a.token
            );
        }
        _ => bail!("give either --to ADDR, or --to-token ID with --value V"),
    }
    Ok(())
}

async fn usage(a: UsageArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let t = c.token(a.token).await?;
    let d = c.class(t.classId).await?.unitDecimals;
    let amount = parse_units(&a.amount, d)
        .with_context(|| format!("--amount (class {} has {d} unit decimals)", t.classId))?;
    let metric = metric_id(&a.metric);
    let receipt = c
        .send(
            I::recordUsageCall {
                tokenId: a.token,
                metricType: metric,
                amount,
            },
            U256::ZERO,
        )
        .await?;
    let remaining = c.call(I::valueOfCall { tokenId: a.token }).await?;
    let total = c
        .call(I::usageOfCall {
            tokenId: a.token,
            metricType: metric,
        })
        .await?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": a.token.to_string(),
                "metric": a.metric,
                "metricType": metric,
                "amount": amount.to_string(),
                "remaining": remaining.to_string(),
                "totalUsage": total.to_string(),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "used          {} ({} = {metric})",
        format_units(amount, d),
        a.metric
    );
    println!("remaining     {}", format_units(remaining, d));
    println!("total usage   {}", format_units(total, d));
    Ok(())
}

async fn settle(a: SettleArgs) -> Result<()> {
    let amount = parse_lazai(&a.amount).context("--amount")?;
    let c = Client::signing(&a.tx)?;
    let receipt = c
        .send(I::settleRevenueETHCall { classId: a.class }, amount)
        .await?;
    let settled = event::<I::RevenueSettled>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "classId": settled.classId.to_string(),
                "amountWei": settled.amount.to_string(),
                "amount": format_units(settled.amount, LAZAI_DECIMALS),
                "accRevenuePerShare": settled.accRevenuePerShare.to_string(),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "settled       {} on class {}",
        format_lazai(settled.amount),
        settled.classId
    );
    Ok(())
}

async fn claim(a: ClaimArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let to = a.to.unwrap_or_else(|| c.from());
    let receipt = c
        .send(
            I::claimCall {
                tokenId: a.token,
                asset: NATIVE_ASSET,
                to,
            },
            U256::ZERO,
        )
        .await?;
    let claimed = event::<I::Claimed>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": a.token.to_string(),
                "to": claimed.to.to_string(),
                "amountWei": claimed.amount.to_string(),
                "amount": format_units(claimed.amount, LAZAI_DECIMALS),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "claimed       {} to {}",
        format_lazai(claimed.amount),
        claimed.to
    );
    Ok(())
}

async fn pending(a: PendingArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let pending = c.pending(a.token).await?;
    if a.read.json {
        return print_json(
            json!({
                "tokenId": a.token.to_string(),
                "pendingWei": pending.to_string(),
                "pending": format_units(pending, LAZAI_DECIMALS),
            }),
            json!({}),
        );
    }
    println!("{}", format_lazai(pending));
    Ok(())
}

pub fn run(cmd: DatCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cmd {
            DatCommand::Class(ClassCommand::Create(a)) => class_create(a).await,
            DatCommand::Class(ClassCommand::Show(a)) => class_show(a).await,
            DatCommand::Mint(a) => mint(a).await,
            DatCommand::Show(a) => show(a).await,
            DatCommand::Transfer(a) => transfer(a).await,
            DatCommand::Usage(a) => usage(a).await,
            DatCommand::Settle(a) => settle(a).await,
            DatCommand::Claim(a) => claim(a).await,
            DatCommand::Pending(a) => pending(a).await,
        }
    })
}

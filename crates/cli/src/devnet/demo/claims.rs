//! The demo's last step: revenue claimed by every holder of the two classes, and the books
//! checked (`paid = claimed + unclaimed + dust`).

use super::cast::{ContributorRow, OWNER, lazai_text, signing, u64_of, u128_of};
use alloy_primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as D, SCALE};
use lazai_client::{Client, event};
use lazai_worker::TrainingOutcome;

/// A contributor's file once the quorum verified it.
pub(super) struct VerifiedFile {
    pub(super) name: &'static str,
    pub(super) account: u32,
    pub(super) file: U256,
    pub(super) rows: u64,
    pub(super) score: u16,
    pub(super) token: U256,
}

/// What holders claimed and what is left in the two classes.
pub(super) struct Claims {
    pub(super) contributors: Vec<ContributorRow>,
    pub(super) owner: Address,
    pub(super) owner_claimed: u128,
    pub(super) claimed: u128,
    pub(super) unclaimed: u128,
    pub(super) dust: u128,
}

/// Step 5, second half: every contributor and the iDAO claim; what was claimed, what is left,
/// and the dust, checked against the classes' books.
pub(super) async fn claim_everything(
    rpc: &str,
    say: &dyn Fn(&str),
    files: &[VerifiedFile],
    trained: &TrainingOutcome,
    paid: U256,
    dataset_class: U256,
) -> Result<Claims> {
    let (contributors, mut claimed_total) = claim_contributors(rpc, say, files).await?;
    // The model class: the iDAO owner's ownership token is the first token of the class. (A
    // new client: the packager sent transactions with the owner's key meanwhile.)
    let owner = signing(rpc, OWNER)?;
    let owner_token = model_owner_token(&owner, trained.class_id).await?;
    let owner_claimed = claim_all(&owner, owner_token).await?;
    claimed_total += owner_claimed;
    say(&format!(
        "   the iDAO ({}) claimed {} with the model's ownership DAT {owner_token}",
        owner.from(),
        lazai_text(owner_claimed)
    ));
    // Unclaimed: everything still pending in the two classes.
    let mut unclaimed = contributors.iter().map(|c| c.unclaimed).sum::<u128>();
    unclaimed += u128_of(pending_revenue(&owner, owner_token).await?);
    let paid = u128_of(paid);
    let dust = paid
        .checked_sub(claimed_total + unclaimed)
        .ok_or_else(|| anyhow!("claimed + unclaimed exceed what was paid"))?;
    // Dust is what the DAT's per-class carries hold: check it against the classes' books.
    let mut carries = U256::ZERO;
    for class in [dataset_class, trained.class_id] {
        let rev = owner
            .call(
                DAT_ADDRESS,
                D::classRevenueCall {
                    classId: class,
                    asset: Address::ZERO,
                },
            )
            .await?;
        carries += rev.carry;
    }
    if U256::from(dust) > carries / SCALE + U256::from(2 + files.len() as u64) {
        bail!("dust {dust} wei is more than the classes' carries explain");
    }
    Ok(Claims {
        contributors,
        owner: owner.from(),
        owner_claimed,
        claimed: claimed_total,
        unclaimed,
        dust,
    })
}

/// Each contributor claims with its dataset DAT; their rows of the summary and the total
/// claimed.
async fn claim_contributors(
    rpc: &str,
    say: &dyn Fn(&str),
    files: &[VerifiedFile],
) -> Result<(Vec<ContributorRow>, u128)> {
    let mut claimed_total = 0u128;
    let mut contributors = Vec::new();
    let total_share: u64 = files.iter().map(|f| u64::from(f.score)).sum();
    for f in files {
        let (name, score, token) = (f.name, f.score, f.token);
        let c = signing(rpc, f.account)?;
        let claimed = claim_all(&c, token).await?;
        let left = pending_revenue(&c, token).await?;
        claimed_total += claimed;
        say(&format!(
            "   {name} claimed {} with dataset DAT {token} (share {score} of {total_share})",
            lazai_text(claimed)
        ));
        contributors.push(ContributorRow {
            name: name.to_string(),
            address: c.from(),
            file_id: u64_of(f.file),
            rows: f.rows,
            score,
            token_id: u64_of(token),
            share_ratio: u64::from(score),
            earned: claimed + u128_of(left),
            claimed,
            unclaimed: u128_of(left),
        });
    }
    Ok((contributors, claimed_total))
}

/// The native revenue token `token` can claim now.
async fn pending_revenue(c: &Client, token: U256) -> Result<U256> {
    c.call(
        DAT_ADDRESS,
        D::pendingRevenueCall {
            tokenId: token,
            asset: Address::ZERO,
        },
    )
    .await
}

/// Claims whatever `token` has pending to `c`'s own address (nothing is sent when nothing is
/// pending); the amount claimed.
async fn claim_all(c: &Client, token: U256) -> Result<u128> {
    let pending = pending_revenue(c, token).await?;
    if pending.is_zero() {
        return Ok(0);
    }
    let r = c
        .send(
            DAT_ADDRESS,
            D::claimCall {
                tokenId: token,
                asset: Address::ZERO,
                to: c.from(),
            },
            U256::ZERO,
        )
        .await?;
    Ok(u128_of(event::<D::Claimed>(&r, DAT_ADDRESS)?.amount))
}

/// The model class's ownership token (the first token minted into it).
async fn model_owner_token(c: &Client, class: U256) -> Result<U256> {
    let count = c.call(DAT_ADDRESS, D::tokenCountCall {}).await?;
    let mut id = U256::from(1);
    while id <= count {
        let t = c
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await?;
        if t.classId == class {
            return Ok(id);
        }
        id += U256::from(1);
    }
    bail!("model class {class} has no token")
}

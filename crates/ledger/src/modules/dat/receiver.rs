//! ERC-1155's receiver check: a transfer or mint to an address with code asks the contract to
//! accept (`onERC1155Received` / `onERC1155BatchReceived`) after the balances moved, and
//! reverts unless it answers with the function's selector. A receiver's own revert reason is
//! passed on; a refusal without one (or a wrong answer) reverts with `ERC1155InvalidReceiver`.
//! Every caller asks last, once its own writes are done, so a receiver that calls back in sees
//! a finished state.

use super::*;
use lazai_abi::IERC1155Receiver as R;

/// Asks `to` to accept `value` of class `id` moved from `from` (zero for a mint).
pub(super) fn accept_single(
    call: &mut Call<'_>,
    from: Address,
    to: Address,
    id: U256,
    value: U256,
    data: Bytes,
) -> Result<(), ModuleError> {
    if !call.is_contract(to)? {
        return Ok(());
    }
    let input = R::onERC1155ReceivedCall {
        operator: call.caller,
        from,
        id,
        value,
        data,
    }
    .abi_encode();
    accepted(call, to, input, R::onERC1155ReceivedCall::SELECTOR)
}

/// Asks `to` to accept a batch moved from `from` (zero for a mint).
pub(super) fn accept_batch(
    call: &mut Call<'_>,
    from: Address,
    to: Address,
    ids: Vec<U256>,
    values: Vec<U256>,
    data: Bytes,
) -> Result<(), ModuleError> {
    if !call.is_contract(to)? {
        return Ok(());
    }
    let input = R::onERC1155BatchReceivedCall {
        operator: call.caller,
        from,
        ids,
        values,
        data,
    }
    .abi_encode();
    accepted(call, to, input, R::onERC1155BatchReceivedCall::SELECTOR)
}

fn accepted(
    call: &mut Call<'_>,
    to: Address,
    input: Vec<u8>,
    selector: [u8; 4],
) -> Result<(), ModuleError> {
    let answer = call.call_contract(to, input.into())?;
    if !answer.success && !answer.output.is_empty() {
        return Err(ModuleError::Revert(answer.output));
    }
    // A `bytes4` return is one word, the selector left-aligned.
    let word = answer.output.get(..32);
    if answer.success && word.is_some_and(|w| w[..4] == selector && w[4..].iter().all(|b| *b == 0))
    {
        return Ok(());
    }
    Err(revert_with(I::ERC1155InvalidReceiver { receiver: to }))
}

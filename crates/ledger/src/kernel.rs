//! The kernel every native module is written against: the environment of one call ([`Call`]:
//! metered storage, logs, value moves, entering another module), the [`Module`] trait, how a
//! call fails ([`ModuleError`], [`revert_msg`], [`revert_with`]), storage slot names and
//! calldata decoding. It imports no module.
//!
//! A module receives the calldata of a transaction (or `eth_call`) addressed to it, decodes it
//! by selector, and answers exactly as a Solidity contract would: ABI-encoded return data,
//! reverts as `Error(string)` or custom errors (selector + args), events as Ethereum logs with
//! topic0 = keccak256 of the event signature. State lives in the module's own key space of the
//! world state; every read, write and log is metered by the gas schedule in [`crate::gas`].

use crate::env::BlockEnv;
use crate::gas::{self, GasMeter, OutOfGas};
use crate::state::{Account, meta_key, module_key};
use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::{Revert, SolError, SolEvent, SolInterface, SolValue};

/// How a module call ends without success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// The call reverted with this revert data; state changes are discarded, gas used is kept.
    Revert(Bytes),
    /// The call ran out of gas; state changes are discarded and all gas is consumed.
    OutOfGas,
}

impl From<OutOfGas> for ModuleError {
    fn from(_: OutOfGas) -> Self {
        ModuleError::OutOfGas
    }
}

/// A revert with a Solidity `Error(string)` reason.
pub fn revert_msg(reason: impl Into<String>) -> ModuleError {
    ModuleError::Revert(Revert::from(reason.into()).abi_encode().into())
}

/// A revert with a Solidity custom error.
pub fn revert_with<E: SolError>(error: E) -> ModuleError {
    ModuleError::Revert(error.abi_encode().into())
}

/// A storage slot name: `prefix` followed by each part.
pub fn slot(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut s = Vec::with_capacity(prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    s.extend_from_slice(prefix);
    for p in parts {
        s.extend_from_slice(p);
    }
    s
}

/// Decodes calldata into a module's call enum, with clear reverts for unknown selectors and
/// undecodable arguments.
pub fn decode_call<C: SolInterface>(module: &str, input: &[u8]) -> Result<C, ModuleError> {
    if input.len() < 4 {
        return Err(revert_msg(format!(
            "{module}: calldata of {} bytes has no function selector",
            input.len()
        )));
    }
    let selector: [u8; 4] = [input[0], input[1], input[2], input[3]];
    if !C::valid_selector(selector) {
        return Err(revert_msg(format!(
            "{module}: unknown function selector 0x{}",
            alloy_primitives::hex::encode(selector)
        )));
    }
    let decoded = C::abi_decode_validate(input)
        .map_err(|e| revert_msg(format!("{module}: invalid calldata: {e}")))?;
    // One call has one accepted encoding: no missing padding, no trailing bytes, no
    // non-canonical offsets.
    if decoded.abi_encode() != input {
        return Err(revert_msg(format!(
            "{module}: calldata is not the canonical ABI encoding of its arguments"
        )));
    }
    Ok(decoded)
}

/// What a module call reads and writes: accounts and the entries of the world state (module
/// slots, chain metadata). A [`State`] is one; inside the EVM, the bridge that lets contracts
/// call modules is another (it reads and writes through the EVM's journal, so a reverting
/// caller undoes the module's writes too).
pub trait Host {
    fn account(&mut self, address: &Address) -> Account;
    /// Sets an account's balance and nonce.
    fn set_account(&mut self, address: &Address, account: Account);
    /// An entry's value (empty when absent).
    fn entry(&mut self, key: &B256) -> Bytes;
    /// Writes an entry; an empty value deletes it.
    fn set_entry(&mut self, key: B256, value: Bytes);
    /// True when `address` holds contract code (native modules and precompiles do not count).
    fn is_contract(&mut self, address: &Address) -> bool;
    /// Runs a call from a module to a contract (an ERC-1155 receiver hook). The contract's
    /// writes stay only if it succeeds and the module call that made it does too.
    fn call_contract(&mut self, call: ContractCall) -> ContractReturn;
    /// Adds to the chain's total of burned LAZAI (kept in state so supply is auditable).
    fn add_burned(&mut self, amount: U256) {
        let key = meta_key("burned");
        let total = U256::from_be_slice(&self.entry(&key)).saturating_add(amount);
        self.set_entry(key, total.to_be_bytes_trimmed_vec().into());
    }
}

/// A call from a module into a contract.
#[derive(Clone, Debug)]
pub struct ContractCall {
    /// The calling module (the contract's `msg.sender`).
    pub from: Address,
    pub to: Address,
    pub input: Bytes,
    pub gas_limit: u64,
    /// Made from a static call: the contract cannot write either.
    pub is_static: bool,
}

/// How a module's call into a contract ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContractReturn {
    pub success: bool,
    /// Return data, or revert data.
    pub output: Bytes,
    pub gas_used: u64,
    /// The logs the call left (none when it failed).
    pub logs: Vec<Log>,
}

/// Nested module → contract → module → contract calls allowed in one transaction (each level
/// is a receiver hook calling back into a module that calls another hook).
pub const MAX_CONTRACT_CALL_DEPTH: usize = 8;

/// The environment of one module call.
pub struct Call<'a> {
    /// The module's address.
    pub module: Address,
    /// Who called (the transaction's sender).
    pub caller: Address,
    /// LAZAI (wei) sent with the call; already credited to the module's balance.
    pub value: U256,
    pub block: &'a BlockEnv,
    state: &'a mut dyn Host,
    gas: GasMeter,
    logs: Vec<Log>,
    /// A call from a contract's STATICCALL: any write reverts.
    read_only: bool,
}

impl<'a> Call<'a> {
    pub fn new(
        module: Address,
        caller: Address,
        value: U256,
        block: &'a BlockEnv,
        state: &'a mut dyn Host,
        gas_limit: u64,
    ) -> Self {
        Self {
            module,
            caller,
            value,
            block,
            state,
            gas: GasMeter::new(gas_limit),
            logs: Vec::new(),
            read_only: false,
        }
    }

    /// Makes every write of this call revert (a contract's STATICCALL).
    pub(crate) fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    fn writable(&self) -> Result<(), ModuleError> {
        if self.read_only {
            Err(revert_msg(
                "write protection: a static call cannot change state",
            ))
        } else {
            Ok(())
        }
    }

    pub fn charge(&mut self, gas: u64) -> Result<(), ModuleError> {
        Ok(self.gas.charge(gas)?)
    }

    pub fn gas_used(&self) -> u64 {
        self.gas.used()
    }

    pub fn into_logs(self) -> Vec<Log> {
        self.logs
    }

    /// Reverts when value was sent to a function that is not payable.
    pub fn non_payable(&self) -> Result<(), ModuleError> {
        if self.value.is_zero() {
            Ok(())
        } else {
            Err(revert_msg("function is not payable"))
        }
    }

    /// Reads one of this module's slots (empty when unset).
    pub fn load(&mut self, slot: &[u8]) -> Result<Bytes, ModuleError> {
        self.charge(gas::SLOAD)?;
        Ok(self.state.entry(&module_key(&self.module, slot)))
    }

    /// Writes one of this module's slots; an empty value deletes it.
    pub fn store(&mut self, slot: &[u8], value: Bytes) -> Result<(), ModuleError> {
        self.writable()?;
        let key = module_key(&self.module, slot);
        let exists = !self.state.entry(&key).is_empty();
        let words = (value.len() as u64).div_ceil(32).saturating_sub(1);
        self.charge(if exists {
            gas::SSTORE_RESET
        } else {
            gas::SSTORE_SET
        })?;
        self.charge(words.saturating_mul(gas::SSTORE_WORD))?;
        self.state.set_entry(key, value);
        Ok(())
    }

    /// Reads a slot holding a U256 (zero when unset).
    pub fn load_u256(&mut self, slot: &[u8]) -> Result<U256, ModuleError> {
        let raw = self.load(slot)?;
        if raw.len() > 32 {
            return Err(revert_msg("corrupt module storage"));
        }
        Ok(U256::from_be_slice(&raw))
    }

    pub fn store_u256(&mut self, slot: &[u8], value: U256) -> Result<(), ModuleError> {
        self.store(slot, value.to_be_bytes_trimmed_vec().into())
    }

    /// Reads a slot holding an ABI-encoded record (`None` when unset); an undecodable record
    /// reverts as corrupt storage.
    pub fn load_abi<T>(&mut self, slot: &[u8]) -> Result<Option<T>, ModuleError>
    where
        T: SolValue + From<<T::SolType as alloy_sol_types::SolType>::RustType>,
    {
        let raw = self.load(slot)?;
        if raw.is_empty() {
            return Ok(None);
        }
        T::abi_decode(&raw)
            .map(Some)
            .map_err(|_| revert_msg("corrupt module storage"))
    }

    /// Writes an ABI-encoded record to a slot.
    pub fn store_abi<T: SolValue>(&mut self, slot: &[u8], value: &T) -> Result<(), ModuleError> {
        self.store(slot, Bytes::from(value.abi_encode()))
    }

    /// Reads a boolean slot (set = non-empty).
    pub fn load_flag(&mut self, slot: &[u8]) -> Result<bool, ModuleError> {
        Ok(!self.load(slot)?.is_empty())
    }

    /// Sets or clears a boolean slot.
    pub fn store_flag(&mut self, slot: &[u8], on: bool) -> Result<(), ModuleError> {
        let value = if on {
            Bytes::from_static(&[1])
        } else {
            Bytes::new()
        };
        self.store(slot, value)
    }

    /// True when `address` holds contract code (metered as an account read).
    pub fn is_contract(&mut self, address: Address) -> Result<bool, ModuleError> {
        self.charge(gas::ACCOUNT_READ)?;
        Ok(self.state.is_contract(&address))
    }

    /// Calls contract `to` with `input`, from this module, forwarding all but 1/64 of the gas
    /// left (EIP-150); the contract's logs join this call's. A failure of the contract is
    /// returned, not raised: the module decides (an ERC-1155 hook refusing reverts the
    /// transfer).
    pub fn call_contract(
        &mut self,
        to: Address,
        input: Bytes,
    ) -> Result<ContractReturn, ModuleError> {
        self.charge(gas::CONTRACT_CALL)?;
        let left = self.gas.remaining();
        let mut ret = self.state.call_contract(ContractCall {
            from: self.module,
            to,
            input,
            gas_limit: left - left / 64,
            is_static: self.read_only,
        });
        self.charge(ret.gas_used)?;
        self.logs.append(&mut ret.logs);
        Ok(ret)
    }

    /// Pays `amount` wei out of this module's balance to `to` (metered as a value transfer).
    /// Reverts if the module's balance cannot cover it; the total is conserved exactly.
    pub fn pay(&mut self, to: Address, amount: U256) -> Result<(), ModuleError> {
        self.charge(gas::CALL_VALUE)?;
        self.writable()?;
        if amount.is_zero() || to == self.module {
            return Ok(());
        }
        let mut from = self.state.account(&self.module);
        from.balance = from
            .balance
            .checked_sub(amount)
            .ok_or_else(|| revert_msg("module balance too low"))?;
        let mut recipient = self.state.account(&to);
        recipient.balance = recipient
            .balance
            .checked_add(amount)
            .ok_or_else(|| revert_msg("balance overflow"))?;
        self.state.set_account(&self.module, from);
        self.state.set_account(&to, recipient);
        Ok(())
    }

    /// Burns `amount` wei of this module's balance: it leaves every account and is counted in
    /// the state's `burned`, so supply stays auditable.
    pub fn burn(&mut self, amount: U256) -> Result<(), ModuleError> {
        if amount.is_zero() {
            return Ok(());
        }
        self.writable()?;
        let mut from = self.state.account(&self.module);
        from.balance = from
            .balance
            .checked_sub(amount)
            .ok_or_else(|| revert_msg("module balance too low"))?;
        self.state.set_account(&self.module, from);
        self.state.add_burned(amount);
        Ok(())
    }

    /// Runs `f` as this module calling another native module's code directly (not through
    /// calldata): inside `f`, `module` is the module whose storage and logs are used and
    /// `caller` is this module; no value moves. Gas, state and logs are shared, so a revert
    /// inside `f` reverts the whole call. This is how modules with a role in another module
    /// (the DataRegistry minting DATs) act on it.
    pub fn enter<R>(
        &mut self,
        module: Address,
        f: impl FnOnce(&mut Self) -> Result<R, ModuleError>,
    ) -> Result<R, ModuleError> {
        let saved = (self.module, self.caller, self.value);
        self.module = module;
        self.caller = saved.0;
        self.value = U256::ZERO;
        let result = f(self);
        (self.module, self.caller, self.value) = saved;
        result
    }

    /// Moves `amount` wei from the caller's balance to this module's (metered as a value
    /// transfer), for functions whose caller names an amount to pay rather than sending it as
    /// value (as an ERC-20 `transferFrom` by the caller's own call would). Returns false, moving
    /// nothing, when the caller's balance is short.
    pub fn collect(&mut self, amount: U256) -> Result<bool, ModuleError> {
        self.charge(gas::CALL_VALUE)?;
        self.writable()?;
        if amount.is_zero() || self.caller == self.module {
            return Ok(true);
        }
        let mut from = self.state.account(&self.caller);
        let Some(left) = from.balance.checked_sub(amount) else {
            return Ok(false);
        };
        let mut module = self.state.account(&self.module);
        module.balance = module
            .balance
            .checked_add(amount)
            .ok_or_else(|| revert_msg("balance overflow"))?;
        from.balance = left;
        self.state.set_account(&self.caller, from);
        self.state.set_account(&self.module, module);
        Ok(true)
    }

    /// Emits a Solidity event as an Ethereum log of this module.
    pub fn emit<E: SolEvent>(&mut self, event: &E) -> Result<(), ModuleError> {
        let data = event.encode_log_data();
        self.writable()?;
        self.charge(gas::LOG)?;
        self.charge(gas::LOG_TOPIC.saturating_mul(data.topics().len() as u64))?;
        self.charge(gas::LOG_BYTE.saturating_mul(data.data.len() as u64))?;
        self.logs.push(Log {
            address: self.module,
            data,
        });
        Ok(())
    }
}

/// A native module.
pub trait Module: Send + Sync + 'static {
    /// Contract name, as in reverts and `eth_getCode`.
    fn name(&self) -> &'static str;
    /// The fixed address it answers at.
    fn address(&self) -> Address;
    /// Handles one call; returns ABI-encoded return data.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError>;
}

// ---- lists and addresses in slots ------------------------------------------------------

/// Appends `value` (a 20- or 40-byte key) to the list `count`/`at`, remembering its position + 1
/// at `pos`.
pub(crate) fn list_push(
    call: &mut Call<'_>,
    count: &[u8],
    at: fn(U256) -> Vec<u8>,
    pos: &[u8],
    value: &[u8],
) -> Result<(), ModuleError> {
    let n = call.load_u256(count)?;
    call.store(&at(n), value.to_vec().into())?;
    call.store_u256(pos, n + U256::from(1))?;
    call.store_u256(count, n + U256::from(1))
}

/// Removes the entry whose position + 1 is stored at `pos` (swap with the last); `pos_of` gives
/// the position slot of the moved entry from its stored bytes.
pub(crate) fn list_remove(
    call: &mut Call<'_>,
    count: &[u8],
    at: fn(U256) -> Vec<u8>,
    pos: &[u8],
    pos_of: impl Fn(&[u8]) -> Vec<u8>,
) -> Result<(), ModuleError> {
    let p = call.load_u256(pos)?;
    if p.is_zero() {
        return Ok(());
    }
    let i = p - U256::from(1);
    let n = call.load_u256(count)?;
    let last = n - U256::from(1);
    if i != last {
        let moved = call.load(&at(last))?;
        call.store(&at(i), moved.clone())?;
        call.store_u256(&pos_of(&moved), p)?;
    }
    call.store(&at(last), Default::default())?;
    call.store(pos, Default::default())?;
    call.store_u256(count, last)
}

/// Reads a slot holding a 20-byte address (zero when unset).
pub(crate) fn load_address(call: &mut Call<'_>, slot: &[u8]) -> Result<Address, ModuleError> {
    let raw = call.load(slot)?;
    match raw.len() {
        0 => Ok(Address::ZERO),
        20 => Ok(Address::from_slice(&raw)),
        _ => Err(revert_msg("corrupt module storage")),
    }
}

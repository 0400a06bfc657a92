// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IIdaoRegistry {
    function registerIdao(string calldata name, string calldata metadataUri) external returns (uint256 idaoId);
    function idaoCount() external view returns (uint256);
}

interface ISettlement {
    function addUser() external payable;
    function withdraw(uint256 amount) external;
}

/// A contract that uses LazAI's native modules: it registers iDAOs (the contract is their
/// owner), holds a settlement account, and tries what must not work — writing in a static call,
/// running a module's code on its own storage, and re-entering a payout from `receive`.
contract ModuleCaller {
    address public constant REGISTRY = 0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1;
    address public constant SETTLEMENT = 0xBE94646A0C6C1032c289Eea47169798e09dB5299;

    /// How many times `receive` ran.
    uint256 public received;
    bool private reenter;

    function register(string calldata name) external returns (uint256) {
        return IIdaoRegistry(REGISTRY).registerIdao(name, "ipfs://module-caller");
    }

    function registerThenRevert(string calldata name) external {
        IIdaoRegistry(REGISTRY).registerIdao(name, "");
        revert("undone");
    }

    /// Registers in an inner call that reverts, then once more: only the second stays.
    function registerAfterUndone(string calldata name) external returns (uint256 idaoId) {
        try this.registerThenRevert(name) {} catch {}
        idaoId = IIdaoRegistry(REGISTRY).registerIdao(name, "");
    }

    function count() external view returns (uint256) {
        return IIdaoRegistry(REGISTRY).idaoCount();
    }

    function staticRegister(string calldata name) external view returns (bool ok, bytes memory ret) {
        (ok, ret) = REGISTRY.staticcall(abi.encodeCall(IIdaoRegistry.registerIdao, (name, "")));
    }

    function delegateRegister(string calldata name) external returns (bool ok, bytes memory ret) {
        (ok, ret) = REGISTRY.delegatecall(abi.encodeCall(IIdaoRegistry.registerIdao, (name, "")));
    }

    function raw(address target, bytes calldata data) external payable returns (bool ok, bytes memory ret) {
        (ok, ret) = target.call{value: msg.value}(data);
    }

    function join() external payable {
        ISettlement(SETTLEMENT).addUser{value: msg.value}();
    }

    function withdraw(uint256 amount, bool tryReentry) external {
        reenter = tryReentry;
        ISettlement(SETTLEMENT).withdraw(amount);
        reenter = false;
    }

    receive() external payable {
        received += 1;
        if (reenter) {
            reenter = false;
            ISettlement(SETTLEMENT).withdraw(msg.value);
        }
    }
}

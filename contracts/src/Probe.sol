// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A contract deployed by CREATE2 from `Probe.deploy`; it remembers who made it.
contract Child {
    address public immutable parent;

    constructor() payable {
        parent = msg.sender;
    }
}

/// A contract that destroys itself while it is being created (EIP-6780 then removes it).
contract Ephemeral {
    constructor(address payable heir) payable {
        selfdestruct(heir);
    }
}

/// Exercises what the EVM on LazChain must get right: storage, events, reverts with custom
/// errors, CREATE2, BLOCKHASH, SELFDESTRUCT in the creating transaction, precompiles, calls to
/// any address and running out of gas.
contract Probe {
    uint256 public value;
    mapping(uint256 => uint256) public slots;

    event Set(address indexed by, uint256 value);
    event Deployed(address child);

    error Failed(uint256 code);

    constructor(uint256 initial) payable {
        value = initial;
    }

    function set(uint256 v) external {
        value = v;
        emit Set(msg.sender, v);
    }

    /// Writes `n` slots, then clears them: a gas refund case.
    function churn(uint256 n) external {
        for (uint256 i = 0; i < n; i++) slots[i] = i + 1;
        for (uint256 i = 0; i < n; i++) delete slots[i];
    }

    function fail(uint256 code) external pure {
        revert Failed(code);
    }

    function failWithReason() external pure {
        revert("probe says no");
    }

    function spin() external view returns (uint256 n) {
        while (gasleft() > 0) n++;
    }

    function hashOf(uint256 number) external view returns (bytes32) {
        return blockhash(number);
    }

    function env() external view returns (uint256 chainId, uint256 number, uint256 timestamp, address coinbase, uint256 basefee) {
        return (block.chainid, block.number, block.timestamp, block.coinbase, block.basefee);
    }

    function deploy(bytes32 salt) external payable returns (address child) {
        child = address(new Child{salt: salt, value: msg.value}());
        emit Deployed(child);
    }

    function ephemeral(address payable heir) external payable returns (address gone) {
        gone = address(new Ephemeral{value: msg.value}(heir));
    }

    function forward(address target, bytes calldata data) external payable returns (bool ok, bytes memory ret) {
        (ok, ret) = target.call{value: msg.value}(data);
    }

    /// ecAdd(G, G) through the BN254 precompile at 0x06.
    function doubleGenerator() external view returns (uint256 x, uint256 y) {
        (bool ok, bytes memory out) = address(6).staticcall(abi.encode(uint256(1), uint256(2), uint256(1), uint256(2)));
        require(ok, "ecAdd failed");
        (x, y) = abi.decode(out, (uint256, uint256));
    }

    /// The BN254 pairing precompile at 0x08 on an empty input (the empty product is one).
    function emptyPairing() external view returns (bool) {
        (bool ok, bytes memory out) = address(8).staticcall("");
        require(ok, "pairing failed");
        return abi.decode(out, (uint256)) == 1;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IDat {
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external;
    function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes calldata data) external;
    function transferToken(uint256 tokenId, address to) external;
    function balanceOf(address account, uint256 id) external view returns (uint256);
    function claim(uint256 tokenId, address asset, address to) external returns (uint256 amount);
}

/// A contract that receives DATs, with every answer a receiver can give: accept, answer wrongly,
/// refuse with a reason, refuse without one, burn all its gas, or pass what it got on to another
/// contract from inside its hook (a chain of such contracts nests hooks). It also claims revenue
/// and would claim again from `receive` if a payout ever ran its code.
contract DatReceiver {
    address public constant DAT = 0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d;

    enum Mode { Accept, WrongAnswer, Refuse, RefuseSilently, Spin, PassOn }

    Mode public mode;
    address public next;
    uint256 public singles;
    uint256 public batches;
    address public lastOperator;
    address public lastFrom;
    bytes public lastData;
    /// How many times `receive` ran.
    uint256 public received;
    /// The token `receive` claims again (0: none).
    uint256 public claimAgain;

    event Received(address operator, address from, uint256 id, uint256 value, bytes data);
    event BatchReceived(address operator, address from, uint256[] ids, uint256[] values, bytes data);

    function configure(Mode m, address to) external {
        mode = m;
        next = to;
    }

    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external
        returns (bytes4)
    {
        require(msg.sender == DAT, "only the DAT module sends DATs");
        singles += 1;
        lastOperator = operator;
        lastFrom = from;
        lastData = data;
        emit Received(operator, from, id, value, data);
        answer();
        if (mode == Mode.PassOn) {
            IDat(DAT).safeTransferFrom(address(this), next, id, value, data);
        }
        return mode == Mode.WrongAnswer ? bytes4(0xdeadbeef) : this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(
        address operator,
        address from,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external returns (bytes4) {
        require(msg.sender == DAT, "only the DAT module sends DATs");
        batches += 1;
        lastOperator = operator;
        lastFrom = from;
        lastData = data;
        emit BatchReceived(operator, from, ids, values, data);
        answer();
        if (mode == Mode.PassOn) {
            IDat(DAT).safeBatchTransferFrom(address(this), next, ids, values, data);
        }
        return mode == Mode.WrongAnswer ? bytes4(0xdeadbeef) : this.onERC1155BatchReceived.selector;
    }

    /// Sends DATs this contract holds (the EVM path: a contract calling the module, whose hook
    /// then runs another contract).
    function send(address to, uint256 id, uint256 value, bytes calldata data) external {
        IDat(DAT).safeTransferFrom(address(this), to, id, value, data);
    }

    /// Calls anything as this contract (a revert is passed on).
    function exec(address target, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function reenterOnReceive(uint256 tokenId) external {
        claimAgain = tokenId;
    }

    receive() external payable {
        received += 1;
        if (claimAgain != 0) IDat(DAT).claim(claimAgain, address(0), address(this));
    }

    function answer() private view {
        if (mode == Mode.Refuse) revert("DatReceiver: not accepting");
        if (mode == Mode.RefuseSilently) revert();
        if (mode == Mode.Spin) {
            uint256 n;
            while (gasleft() > 0) n += 1;
        }
    }
}

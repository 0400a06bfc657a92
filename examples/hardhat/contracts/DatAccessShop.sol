// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// LazAI's DataAnchoringToken, a native module at a fixed address (the functions this shop uses).
interface IDataAnchoringToken {
    function createClass(string calldata metadataURI, bytes32 integrityHash, uint8 unitDecimals, string calldata policyURI)
        external
        returns (uint256 classId);
    function mint(uint256 classId, address to, uint256 value, uint256 shareRatio, uint64 expireAt)
        external
        returns (uint256 tokenId);
    function settleRevenueETH(uint256 classId) external payable;
}

interface IERC20 {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// Sells access to a dataset as DATs. Deploying it creates a DAT class (the shop is its creator)
/// and gives the deployer the class's one revenue-bearing token. A buyer pays per call, in LAZAI
/// or in an ERC-20, and receives a token of the class whose value is its quota of calls (no
/// revenue share). LAZAI payments are settled on the class, so they accrue to the deployer's
/// token and are claimed from the DAT module (`claim`); ERC-20 payments go to the deployer.
contract DatAccessShop {
    IDataAnchoringToken public constant DAT = IDataAnchoringToken(0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d);

    address public immutable owner;
    IERC20 public immutable credit;
    uint256 public immutable pricePerCall;
    uint256 public immutable creditsPerCall;
    uint256 public immutable classId;
    uint256 public immutable ownerToken;

    event AccessSold(address indexed buyer, uint256 indexed tokenId, uint256 calls, bool paidInCredits);

    constructor(IERC20 credit_, uint256 pricePerCall_, uint256 creditsPerCall_, string memory datasetUri) {
        owner = msg.sender;
        credit = credit_;
        pricePerCall = pricePerCall_;
        creditsPerCall = creditsPerCall_;
        uint256 id = DAT.createClass(datasetUri, bytes32(0), 0, "ipfs://terms-of-access");
        classId = id;
        ownerToken = DAT.mint(id, msg.sender, 1, 1, 0);
    }

    /// Pays `calls * pricePerCall` LAZAI for a token with `calls` of quota.
    function buy(uint256 calls) external payable returns (uint256 tokenId) {
        require(calls > 0, "DatAccessShop: no calls");
        require(msg.value == calls * pricePerCall, "DatAccessShop: wrong payment");
        tokenId = DAT.mint(classId, msg.sender, calls, 0, 0);
        DAT.settleRevenueETH{value: msg.value}(classId);
        emit AccessSold(msg.sender, tokenId, calls, false);
    }

    /// Pays `calls * creditsPerCall` of the ERC-20 (approved to this shop first).
    function buyWithCredits(uint256 calls) external returns (uint256 tokenId) {
        require(calls > 0, "DatAccessShop: no calls");
        require(credit.transferFrom(msg.sender, owner, calls * creditsPerCall), "DatAccessShop: payment failed");
        tokenId = DAT.mint(classId, msg.sender, calls, 0, 0);
        emit AccessSold(msg.sender, tokenId, calls, true);
    }
}

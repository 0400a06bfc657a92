//! The DataAnchoringToken's Solidity interface (the ERC-8028 face and the legacy ERC-1155 face),
//! its ERC-165 interface ids and the limits and units its callers see.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, sol};

sol! {
    /// The DataAnchoringToken's Solidity interface (both faces).
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IDataAnchoringToken {
        /// A class: one dataset, model or other asset. `fungible` classes are the ERC-1155
        /// kind created by the legacy `mint`/`batchMint` (one token per holder, revenue weight
        /// equal to balance); the others are ERC-8028 semi-fungible classes. `totalShare` is
        /// the revenue weight of its unexpired tokens as of the last settlement (expiry is
        /// applied when revenue is next settled); `totalValue` the sum of its tokens' values.
        struct DatClass { uint256 id; address creator; string metadataURI; bytes32 integrityHash; uint8 unitDecimals; string policyURI; bool fungible; bool verified; uint256 totalShare; uint256 totalValue; uint256 tokenCount; uint64 createdAt; }
        /// A token. `value` is its remaining usage quota (in the class's units), `shareRatio`
        /// its weight in the class's revenue, `expireAt` a Unix time in seconds (0 = never);
        /// `expired` is true from the first block whose timestamp is at or past `expireAt`.
        struct DatToken { uint256 id; uint256 classId; address owner; uint256 value; uint256 shareRatio; uint64 expireAt; bool expired; uint64 mintedAt; }

        function name() external pure returns (string memory);
        function version() external pure returns (uint256);
        /// ERC-165: true for ERC-165, ERC-1155, ERC-1155 metadata URI and the DAT interface id.
        function supportsInterface(bytes4 interfaceId) external pure returns (bool);
        /// Whether `account` has the minter role (the DataRegistry and verification modules).
        function isMinter(address account) external view returns (bool);

        // ---- ERC-8028 face ----
        /// Creates a semi-fungible class owned by the caller; ids start at 1.
        function createClass(string calldata metadataURI, bytes32 integrityHash, uint8 unitDecimals, string calldata policyURI) external returns (uint256 classId);
        /// Class creator or minter role: mints a token of `value` units and revenue weight
        /// `shareRatio`, expiring at `expireAt` (0 = never, else in the future); ids start at 1.
        function mint(uint256 classId, address to, uint256 value, uint256 shareRatio, uint64 expireAt) external returns (uint256 tokenId);
        /// Owner or approved operator: moves the whole token, with its unclaimed revenue.
        function transferToken(uint256 tokenId, address to) external;
        /// Approves (or revokes) `operator` for every token of the caller in `classId`.
        function approveForClass(uint256 classId, address operator, bool approved) external;
        function isApprovedForClass(address owner, uint256 classId, address operator) external view returns (bool);
        /// Owner or approved operator of `fromTokenId`: moves `value` units to `toTokenId`;
        /// same class, neither expired.
        function transferValue(uint256 fromTokenId, uint256 toTokenId, uint256 value) external;
        /// Class creator: authorises (or revokes) a service that may record usage on the
        /// class's tokens.
        function setClassService(uint256 classId, address service, bool authorised) external;
        function isClassService(uint256 classId, address account) external view returns (bool);
        /// Token owner, its approved operator, or an authorised service of its class: consumes
        /// `amount` units of quota. Reverts with `QuotaExceeded` rather than underflow.
        function recordUsage(uint256 tokenId, bytes32 metricType, uint256 amount) external;
        function usageOf(uint256 tokenId, bytes32 metricType) external view returns (uint256);
        /// Payable: distributes `msg.value` LAZAI over the class's unexpired tokens by weight.
        function settleRevenueETH(uint256 classId) external payable;
        /// Settles `amount` of `asset` taken from the caller's balance (as `transferFrom` by
        /// the caller would). LAZAI (asset `address(0)`) is the only revenue asset today; any
        /// other reverts with `UnsupportedAsset`.
        function settleRevenueERC20(uint256 classId, address asset, uint256 amount) external;
        /// Token owner: pays the token's whole pending revenue in `asset` to `to`.
        function claim(uint256 tokenId, address asset, address to) external returns (uint256 amount);
        /// Anyone: retires up to `maxBuckets` due expiry buckets of a class (settlement does
        /// this for all due buckets; this lets a class with very many keep each transaction
        /// small). Returns how many were retired.
        function retireExpired(uint256 classId, uint256 maxBuckets) external returns (uint256 retired);
        function pendingRevenue(uint256 tokenId, address asset) external view returns (uint256);
        /// A class's revenue in `asset`: total settled, total claimed, the accumulator (wei per
        /// unit of share, scaled by 1e18) and the carried division remainder (in the same
        /// scaled units, re-distributed at the next settlement).
        function classRevenue(uint256 classId, address asset) external view returns (uint256 settled, uint256 claimed, uint256 accRevenuePerShare, uint256 carry);
        function classCount() external view returns (uint256);
        function tokenCount() external view returns (uint256);
        function classInfo(uint256 classId) external view returns (DatClass memory);
        function tokenInfo(uint256 tokenId) external view returns (DatToken memory);
        function ownerOf(uint256 tokenId) external view returns (address);
        function valueOf(uint256 tokenId) external view returns (uint256);
        /// The token `owner` holds in a fungible (ERC-1155) class, 0 when none.
        function holdingOf(uint256 classId, address owner) external view returns (uint256 tokenId);

        // ---- legacy LazAI face (ERC-1155; an id is a class id) ----
        /// Creates a fungible class with URI `tokenURI` and mints `amount` to `to`. Anyone may
        /// (the caller becomes the class's creator); `verified = true` needs the minter role.
        function mint(address to, uint256 amount, string calldata tokenURI, bool verified) external returns (uint256 id);
        /// For each i: `ids[i] == 0` creates a fungible class with `tokenURIs[i]` as `mint`
        /// does; otherwise mints `amounts[i]` more of that fungible class (creator or minter
        /// only; its URI entry must be empty or equal the class's).
        function batchMint(address to, uint256[] calldata ids, uint256[] calldata amounts, string[] calldata tokenURIs) external returns (uint256[] memory);
        function uri(uint256 id) external view returns (string memory);
        function verified(uint256 id) external view returns (bool);
        /// Minter role only (the verification path); never the owner or creator.
        function setTokenVerified(uint256 id, bool verified) external;
        function balanceOf(address account, uint256 id) external view returns (uint256);
        function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids) external view returns (uint256[] memory);
        function setApprovalForAll(address operator, bool approved) external;
        function isApprovedForAll(address account, address operator) external view returns (bool);
        function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external;
        function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes calldata data) external;

        event ClassCreated(uint256 indexed classId, address indexed creator, string metadataURI, bytes32 integrityHash, uint8 unitDecimals, string policyURI);
        event Minted(uint256 indexed tokenId, uint256 indexed classId, address indexed to, uint256 value, uint256 shareRatio, uint64 expireAt);
        event TransferToken(uint256 indexed tokenId, address indexed from, address indexed to);
        event ValueTransferred(uint256 indexed fromTokenId, uint256 indexed toTokenId, uint256 value);
        event UsageRecorded(uint256 indexed tokenId, bytes32 indexed metricType, uint256 amount, address actor);
        event RevenueSettled(uint256 indexed classId, address indexed asset, address indexed payer, uint256 amount, uint256 accRevenuePerShare);
        event Claimed(uint256 indexed tokenId, address indexed asset, address indexed to, uint256 amount);
        event Expired(uint256 indexed tokenId, uint256 indexed classId, uint64 expireAt);
        event ApprovalForClass(address indexed owner, uint256 indexed classId, address indexed operator, bool approved);
        event ClassServiceSet(uint256 indexed classId, address indexed service, bool authorised);
        event VerificationChanged(uint256 indexed id, bool verified);

        event TokenMinted(address indexed to, uint256 indexed tokenId, string tokenURI);
        event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
        event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
        event ApprovalForAll(address indexed account, address indexed operator, bool approved);
        event URI(string value, uint256 indexed id);

        error ClassNotFound(uint256 classId);
        error TokenNotFound(uint256 tokenId);
        error NotMinter(uint256 classId, address caller);
        error NotVerifier(address caller);
        error NotClassCreator(uint256 classId, address caller);
        error NotTokenOwner(uint256 tokenId, address caller);
        error NotOwnerNorApproved(address owner, address caller);
        error UsageNotAuthorised(uint256 tokenId, address caller);
        error InsufficientValue(uint256 tokenId, uint256 value, uint256 requested);
        error QuotaExceeded(uint256 tokenId, uint256 remaining, uint256 requested);
        error InsufficientBalance(address account, uint256 id, uint256 balance, uint256 requested);
        error ZeroTotalShare(uint256 classId);
        error ZeroAmount();
        error NothingToClaim(uint256 tokenId, address asset);
        error TokenExpired(uint256 tokenId, uint64 expireAt);
        error ExpiryNotInFuture(uint64 expireAt, uint64 now);
        error ClassMismatch(uint256 fromClassId, uint256 toClassId);
        error SameToken(uint256 tokenId);
        error InvalidRecipient(address to);
        error InvalidOperator(address operator);
        error UnsupportedAsset(address asset);
        error FungibleClass(uint256 classId);
        error NotFungibleClass(uint256 classId);
        error RecipientHoldsClassToken(uint256 classId, uint256 tokenId);
        error ShareLimitExceeded(uint256 classId, uint256 limit);
        error RevenueOverflow(uint256 classId);
        error InsufficientFunds(address account, uint256 requested);
        error StringTooLong(uint256 length, uint256 max);
        error TooManyItems(uint256 count, uint256 max);
        error LengthMismatch();
        error UriMismatch(uint256 id);
        error InvalidUnitDecimals(uint8 unitDecimals, uint8 max);
        /// The token's class has locked value: only its creator moves it.
        error ValueLocked(uint256 tokenId, address caller);
        /// A contract receiving DATs did not accept them (its `onERC1155Received` /
        /// `onERC1155BatchReceived` did not return its selector, or reverted without a reason).
        error ERC1155InvalidReceiver(address receiver);
    }

    /// What a contract implements to receive DATs (ERC-1155's receiver). Every transfer or mint
    /// to an address with code calls it after the balances moved, and reverts unless it returns
    /// its own selector; a receiver's revert reason is passed on.
    interface IERC1155Receiver {
        function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data) external returns (bytes4);
        function onERC1155BatchReceived(address operator, address from, uint256[] calldata ids, uint256[] calldata values, bytes calldata data) external returns (bytes4);
    }
}

use IDataAnchoringToken as I;

/// The ERC-165 id of ERC-165 itself.
pub const ERC165_INTERFACE_ID: [u8; 4] = [0x01, 0xff, 0xc9, 0xa7];
/// The ERC-165 id of ERC-1155.
pub const ERC1155_INTERFACE_ID: [u8; 4] = [0xd9, 0xb6, 0x7a, 0x26];
/// The ERC-165 id of ERC-1155's metadata URI extension (`uri(uint256)`).
pub const ERC1155_METADATA_URI_INTERFACE_ID: [u8; 4] = [0x0e, 0x89, 0x34, 0x1c];

const fn xor(a: [u8; 4], b: [u8; 4]) -> [u8; 4] {
    [a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]]
}

/// The ERC-165 id of the DAT (ERC-8028) interface: the XOR of the selectors of `createClass`,
/// `mint(uint256,address,uint256,uint256,uint64)`, `transferToken`, `approveForClass`,
/// `transferValue`, `recordUsage`, `settleRevenueETH`, `settleRevenueERC20`, `claim` and
/// `pendingRevenue`.
pub const DAT_INTERFACE_ID: [u8; 4] = {
    let mut id = I::createClassCall::SELECTOR;
    id = xor(id, I::mint_0Call::SELECTOR);
    id = xor(id, I::transferTokenCall::SELECTOR);
    id = xor(id, I::approveForClassCall::SELECTOR);
    id = xor(id, I::transferValueCall::SELECTOR);
    id = xor(id, I::recordUsageCall::SELECTOR);
    id = xor(id, I::settleRevenueETHCall::SELECTOR);
    id = xor(id, I::settleRevenueERC20Call::SELECTOR);
    id = xor(id, I::claimCall::SELECTOR);
    id = xor(id, I::pendingRevenueCall::SELECTOR);
    id
};

/// The asset id of native LAZAI in `claim`, `pendingRevenue` and `classRevenue`.
pub const NATIVE_ASSET: Address = Address::ZERO;

/// The accumulator's scale: `acc` is wei per unit of share times 10¹⁸.
pub const SCALE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// The most total share a class may have (2⁹⁶).
pub const MAX_CLASS_SHARE: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);
/// Longest URI, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;
/// Most items in one batch call.
pub const MAX_BATCH: usize = 64;
/// Largest `unitDecimals`.
pub const MAX_UNIT_DECIMALS: u8 = 36;

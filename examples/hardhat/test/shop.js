// Runs against a live LazChain node: `lazai devnet` in another terminal, then `npm test`.
const { ethers } = require("hardhat");
const assert = require("node:assert/strict");

const DAT = "0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d";
const DAT_ABI = [
  "function ownerOf(uint256 tokenId) view returns (address)",
  "function valueOf(uint256 tokenId) view returns (uint256)",
  "function pendingRevenue(uint256 tokenId, address asset) view returns (uint256)",
  "function classInfo(uint256 classId) view returns (tuple(uint256 id, address creator, string metadataURI, bytes32 integrityHash, uint8 unitDecimals, string policyURI, bool fungible, bool verified, uint256 totalShare, uint256 totalValue, uint256 tokenCount, uint64 createdAt))",
  "function claim(uint256 tokenId, address asset, address to) returns (uint256)",
];

// `valueOf` is also JavaScript's Object.prototype.valueOf: ethers answers that one for
// `dat.valueOf`, so the DAT function is called by its signature.
const valueOf = (dat, tokenId) => dat["valueOf(uint256)"](tokenId);

function sold(shop, receipt) {
  for (const log of receipt.logs) {
    const event = shop.interface.parseLog(log);
    if (event && event.name === "AccessSold") return event.args.toObject();
  }
  throw new Error("no AccessSold event");
}

describe("A DAT access shop on LazChain", function () {
  it("sells access to a DAT class for LAZAI and for an ERC-20", async function () {
    const [owner, buyer] = await ethers.getSigners();
    const network = await ethers.provider.getNetwork();
    console.log(`      chain ${network.chainId}, owner ${owner.address}, buyer ${buyer.address}`);

    const credit = await ethers.deployContract("DataCredit", [ethers.parseEther("1000")]);
    await credit.waitForDeployment();
    const price = ethers.parseEther("0.01");
    const shop = await ethers.deployContract("DatAccessShop", [
      await credit.getAddress(),
      price,
      ethers.parseEther("1"),
      "ipfs://example-dataset",
    ]);
    await shop.waitForDeployment();
    const dat = new ethers.Contract(DAT, DAT_ABI, owner);

    // The shop created the class and gave the deployer its revenue-bearing token.
    const classId = await shop.classId();
    const ownerToken = await shop.ownerToken();
    const info = await dat.classInfo(classId);
    assert.equal(info.creator, await shop.getAddress());
    assert.equal(info.metadataURI, "ipfs://example-dataset");
    assert.equal(await dat.ownerOf(ownerToken), owner.address);

    // Buying with LAZAI: a token with 5 calls of quota; the payment is the class's revenue.
    const bought = await (await shop.connect(buyer).buy(5, { value: price * 5n })).wait();
    const { tokenId, calls } = sold(shop, bought);
    assert.equal(calls, 5n);
    assert.equal(await dat.ownerOf(tokenId), buyer.address);
    assert.equal(await valueOf(dat, tokenId), 5n);
    assert.equal(await dat.pendingRevenue(ownerToken, ethers.ZeroAddress), price * 5n);

    // Buying with the ERC-20: approve, then buy; the credits go to the shop's owner.
    await (await credit.transfer(buyer.address, ethers.parseEther("10"))).wait();
    await (await credit.connect(buyer).approve(await shop.getAddress(), ethers.parseEther("3"))).wait();
    const paid = sold(shop, await (await shop.connect(buyer).buyWithCredits(3)).wait());
    assert.equal(paid.paidInCredits, true);
    assert.equal(await valueOf(dat, paid.tokenId), 3n);
    assert.equal(await credit.balanceOf(owner.address), ethers.parseEther("993"));
    assert.equal(await credit.balanceOf(buyer.address), ethers.parseEther("7"));

    // A wrong payment reverts with the contract's reason; an unpaid ERC-20 purchase with its error.
    await assert.rejects(shop.connect(buyer).buy(1, { value: 1n }), /wrong payment/);
    await assert.rejects(
      shop.connect(buyer).buyWithCredits(100),
      (e) => credit.interface.parseError(e.data)?.name === "InsufficientAllowance",
    );

    // The deployer claims the revenue from the DAT module.
    const claim = await (await dat.claim(ownerToken, ethers.ZeroAddress, owner.address)).wait();
    assert.equal(claim.status, 1);
    assert.equal(await dat.pendingRevenue(ownerToken, ethers.ZeroAddress), 0n);
  });
});

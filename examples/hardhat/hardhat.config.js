// Hardhat 2 on LazChain. Compiles with solc-js from npm (no compiler download, works offline)
// and talks to a `lazai devnet` at LAZAI_RPC_URL (default http://127.0.0.1:8545).
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
require("@nomicfoundation/hardhat-ethers");

const SOLC = "0.8.30";

// Hardhat downloads compilers by default; hand it the solc-js build npm installed instead.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, _hre, runSuper) => {
  if (solcVersion !== SOLC) return runSuper();
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: solcVersion,
    longVersion: solc.version(),
  };
});

module.exports = {
  solidity: {
    version: SOLC,
    settings: { evmVersion: "prague", optimizer: { enabled: true, runs: 200 } },
  },
  defaultNetwork: "lazai",
  networks: {
    lazai: {
      url: process.env.LAZAI_RPC_URL || "http://127.0.0.1:8545",
      chainId: Number(process.env.LAZAI_CHAIN_ID || 133718),
      // On `lazai devnet` the node signs for its ten dev accounts ("remote"); on any other
      // network give your own keys: LAZAI_KEYS=0xkey1,0xkey2.
      accounts: process.env.LAZAI_KEYS ? process.env.LAZAI_KEYS.split(",") : "remote",
    },
  },
  mocha: { timeout: 120000 },
};

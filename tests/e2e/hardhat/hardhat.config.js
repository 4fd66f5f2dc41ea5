// Hardhat project run against a `cmnode start --dev` chain by tests/e2e/test_hardhat_e2e.py:
//   CMNODE_RPC_URL=http://127.0.0.1:8545 HARDHAT_OUT=/tmp/out npx hardhat test --network cmnode
// The compiler is the solc-js package of the repository's node_modules (no download).
require("@nomicfoundation/hardhat-ethers");
const path = require("node:path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const solc = require("solc");
const SOLC_VERSION = solc.version().split("+")[0];

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version().replace(".Emscripten.clang", ""),
  };
});

const out = process.env.HARDHAT_OUT || path.join(__dirname, "out");

module.exports = {
  solidity: SOLC_VERSION,
  defaultNetwork: "cmnode",
  networks: {
    cmnode: {
      url: process.env.CMNODE_RPC_URL || "http://127.0.0.1:8545",
      accounts: "remote",
      timeout: 60000,
    },
  },
  paths: {
    artifacts: path.join(out, "artifacts"),
    cache: path.join(out, "cache"),
  },
  mocha: { timeout: 120000 },
};

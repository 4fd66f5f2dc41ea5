// viem against a running node: `multicall` through the predeployed Multicall3 (no address given
// but the chain's well-known one), and `simulateBlocks` (eth_simulateV1). Prints one JSON object.
import { createPublicClient, defineChain, http, parseAbi } from "viem";

const [url, account] = process.argv.slice(2);
const chain = defineChain({
  id: 15,
  name: "cybermiles-local",
  nativeCurrency: { name: "CMT", symbol: "CMT", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
  contracts: { multicall3: { address: "0xcA11bde05977b3631167028862bE2a173976CA11" } },
});
const client = createPublicClient({ chain, transport: http(url) });
const multicall3 = parseAbi([
  "function getEthBalance(address addr) view returns (uint256 balance)",
  "function getBlockNumber() view returns (uint256 blockNumber)",
  "function getChainId() view returns (uint256 chainid)",
]);
const address = "0xcA11bde05977b3631167028862bE2a173976CA11";
const results = await client.multicall({
  contracts: [
    { address, abi: multicall3, functionName: "getEthBalance", args: [account] },
    { address, abi: multicall3, functionName: "getChainId" },
    { address, abi: multicall3, functionName: "getBlockNumber" },
  ],
});
const balance = await client.getBalance({ address: account });
const blocks = await client.simulateBlocks({
  blocks: [{
    calls: [{ account, to: "0x" + "77".repeat(20), value: 5n }],
    stateOverrides: [{ address: account, balance: 10n ** 30n }],
  }],
  traceTransfers: true,
});
console.log(JSON.stringify({
  statuses: results.map((r) => r.status),
  chainId: results[1].result.toString(),
  multicallBalance: results[0].result.toString(),
  balance: balance.toString(),
  simulatedStatus: blocks[0].calls[0].status,
  simulatedLogs: blocks[0].calls[0].logs.length,
}));

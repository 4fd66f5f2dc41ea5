// viem over WebSocket: watchPendingTransactions (eth_subscribe "newPendingTransactions") must
// report a transaction sent over HTTP by a viem wallet client. Transfers are sent once a second
// until one of their hashes arrives. Prints one JSON object.
import { createPublicClient, createWalletClient, defineChain, http, webSocket } from "viem";
import { mnemonicToAccount } from "viem/accounts";

const [httpUrl, wsUrl, chainId, accountIndex] = process.argv.slice(2);
const chain = defineChain({
  id: Number(chainId), name: "cmnode", nativeCurrency: { name: "CMT", symbol: "CMT", decimals: 18 },
  rpcUrls: { default: { http: [httpUrl], webSocket: [wsUrl] } },
});
const account = mnemonicToAccount("test test test test test test test test test test test junk",
  { addressIndex: Number(accountIndex) });
const publicClient = createPublicClient({ chain, transport: webSocket(wsUrl) });
const walletClient = createWalletClient({ account, chain, transport: http(httpUrl) });

const sent = new Set();
let seen = null;
let resolveFound;
const found = new Promise((resolve) => { resolveFound = resolve; });
const unwatch = publicClient.watchPendingTransactions({
  onTransactions: (hashes) => {
    const match = hashes.find((hash) => sent.has(hash));
    if (match) { seen = match; resolveFound(); }
  },
  onError: (error) => { console.error(error); process.exit(2); },
});
await new Promise((resolve) => setTimeout(resolve, 500)); // the subscription request goes out first
const deadline = Date.now() + 60_000;
while (seen === null && Date.now() < deadline) {
  const recipient = `0x${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  sent.add(await walletClient.sendTransaction({ to: recipient, value: 1n }));
  await Promise.race([found, new Promise((resolve) => setTimeout(resolve, 1000))]);
}
unwatch();
console.log(JSON.stringify({ seen, sent: [...sent] }));
process.exit(0);

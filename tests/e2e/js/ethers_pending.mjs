// ethers v6 over HTTP: provider.on("pending") (a pending-transaction filter polled with
// eth_getFilterChanges) must report a transaction this script sends. Transfers are sent once
// a second until one of their hashes is reported; then the listener is removed (ethers
// uninstalls the filter and stops polling), so Node.js exits by itself: status 0 unless a
// promise was left rejected.
// Prints one JSON object.
import { ethers } from "ethers";

const [url, accountIndex] = process.argv.slice(2);
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1, pollingInterval: 250 });
const mnemonic = "test test test test test test test test test test test junk";
const wallet = ethers.HDNodeWallet.fromPhrase(mnemonic, undefined, `m/44'/60'/0'/0/${accountIndex}`).connect(provider);

const sent = new Set();
let seen = null;
const found = new Promise((resolve) => {
  provider.on("pending", (hash) => {
    if (sent.has(hash)) { seen = hash; resolve(); }
  });
});
const deadline = Date.now() + 60_000;
while (seen === null && Date.now() < deadline) {
  const tx = await wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n });
  sent.add(tx.hash);
  await Promise.race([found, new Promise((resolve) => setTimeout(resolve, 1000))]);
}
await provider.removeAllListeners();
console.log(JSON.stringify({ seen, sent: [...sent] }));

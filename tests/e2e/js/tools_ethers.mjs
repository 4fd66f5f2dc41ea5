// ethers v6 against a `cmnode start --dev` node: two transactions sent back to back (the second
// estimated with a nonce ahead of the mined one), and messages signed by the node's development
// accounts (personal_sign, eth_signTypedData_v4). Prints one JSON object.
import { ethers } from "ethers";

const [url] = process.argv.slice(2);
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 });
const mnemonic = "test test test test test test test test test test test junk";
const wallet = ethers.HDNodeWallet.fromPhrase(mnemonic, undefined, "m/44'/60'/0'/0/16").connect(provider);
const recipient = ethers.Wallet.createRandom().address;

const first = await wallet.sendTransaction({ to: recipient, value: 1n });
const second = await wallet.sendTransaction({ to: recipient, value: 2n, nonce: first.nonce + 1 });
const estimateAhead = await provider.estimateGas({ from: wallet.address, to: recipient, value: 3n, nonce: first.nonce + 2 });
const receipts = await Promise.all([first.wait(), second.wait()]);

const signer = await provider.getSigner(0);
const message = "cmnode signs for the development chain";
const signature = await signer.signMessage(message);
const domain = { name: "Shop", version: "1", chainId: 15, verifyingContract: "0x" + "11".repeat(20) };
const types = { Order: [{ name: "buyer", type: "address" }, { name: "amount", type: "uint256" }] };
const order = { buyer: recipient, amount: 42n };
const typedSignature = await signer.signTypedData(domain, types, order);

console.log(JSON.stringify({
  nonces: [first.nonce, second.nonce],
  statuses: receipts.map((r) => r.status),
  estimateAhead: estimateAhead.toString(),
  balance: (await provider.getBalance(recipient)).toString(),
  signer: signer.address,
  messageSigner: ethers.verifyMessage(message, signature),
  typedSigner: ethers.verifyTypedData(domain, types, order, typedSignature),
}));

// Drives a running node with ethers v6, as a dapp would: reads, a signed transfer,
// a contract deployment and call, and a revert reason. Prints one JSON object.
import { ethers } from "ethers";
import { readFileSync } from "node:fs";

const [url, artifactPath] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 });
const mnemonic = "test test test test test test test test test test test junk";
const wallet = ethers.HDNodeWallet.fromPhrase(mnemonic, undefined, "m/44'/60'/0'/0/17").connect(provider);
const recipient = ethers.Wallet.createRandom().address;

const network = await provider.getNetwork();
const fees = await provider.getFeeData();
const sent = await wallet.sendTransaction({ to: recipient, value: ethers.parseEther("1.25") });
const receipt = await sent.wait();
const balance = await provider.getBalance(recipient);

const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
const token = await factory.deploy("Ethers Coin", "ETC", ethers.parseUnits("1000", 18));
await token.waitForDeployment();
const transfer = await token.transfer(recipient, 42n);
const transferReceipt = await transfer.wait();
const parsed = transferReceipt.logs.map((log) => token.interface.parseLog(log)).filter(Boolean);
let revertReason = null;
try {
  await token.connect(ethers.Wallet.createRandom().connect(provider)).transfer.staticCall(recipient, 1n);
} catch (error) {
  revertReason = error.reason ?? null;
}
console.log(JSON.stringify({
  chainId: network.chainId.toString(),
  maxFeePerGas: fees.maxFeePerGas?.toString() ?? null,
  transferStatus: receipt.status,
  balance: balance.toString(),
  token: await token.getAddress(),
  tokenBalance: (await token.balanceOf(recipient)).toString(),
  event: parsed.length ? parsed[0].name : null,
  revertReason,
}));

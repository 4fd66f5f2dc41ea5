// ethers v6 and viem send zero-price calls of a sponsored shop's visit() from fresh accounts holding no CMT:
// ethers with a legacy gasPrice of 0 and with EIP-1559 fees of 0, viem with a gasPrice of 0, all at once.
// Prints one JSON line: for each, the receipt status, the effective gas price, the sender's balance after.
// usage: node sponsored_wallets.mjs RPC_URL SHOP_ADDRESS
import { ethers } from "ethers";
import { createPublicClient, createWalletClient, http, parseAbi } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const [url, shop] = process.argv.slice(2);
const abi = ["function visit()"];
const provider = new ethers.JsonRpcProvider(url);
const chainId = Number((await provider.getNetwork()).chainId);

async function viaEthers(fees) {
  const wallet = ethers.Wallet.createRandom().connect(provider);
  const receipt = await (await new ethers.Contract(shop, abi, wallet).visit(fees)).wait();
  return { status: receipt.status, gasPrice: receipt.gasPrice.toString(),
           balance: (await provider.getBalance(wallet.address)).toString() };
}

async function viaViem() {
  const account = privateKeyToAccount(generatePrivateKey());
  const chain = { id: chainId, name: "cmt", nativeCurrency: { name: "CMT", symbol: "CMT", decimals: 18 },
                  rpcUrls: { default: { http: [url] } } };
  const wallet = createWalletClient({ account, chain, transport: http(url) });
  const reader = createPublicClient({ chain, transport: http(url) });
  const hash = await wallet.writeContract({ address: shop, abi: parseAbi(abi), functionName: "visit", gasPrice: 0n });
  const receipt = await reader.waitForTransactionReceipt({ hash });
  return { status: receipt.status === "success" ? 1 : 0, gasPrice: receipt.effectiveGasPrice.toString(),
           balance: (await reader.getBalance({ address: account.address })).toString() };
}

const [legacy, dynamic, viem] = await Promise.all([
  viaEthers({ gasPrice: 0 }), viaEthers({ maxFeePerGas: 0, maxPriorityFeePerGas: 0 }), viaViem(),
]);
console.log(JSON.stringify({ legacy, dynamic, viem }));

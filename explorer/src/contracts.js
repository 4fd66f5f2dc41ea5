// Reads of the native contracts' view functions through eth_call, encoded and decoded with their ABIs.
import { decodeFunctionResult, encodeFunctionData } from 'viem';
import { nativeAbi, nativeAddress } from './decode.js';
import { batch, RpcError } from './rpc.js';

/** Calls ``[contract, functionName, args]`` triples in one batch at ``block``; decoded results (RpcError for a revert). */
export async function readMany(reads, block = 'latest') {
  const answers = await batch(reads.map(([contract, functionName, args = []]) => [
    'eth_call',
    [{ to: nativeAddress(contract), data: encodeFunctionData({ abi: nativeAbi(contract), functionName, args }) }, block],
  ]));
  return answers.map((answer, i) => {
    if (answer instanceof RpcError) return answer;
    const [contract, functionName] = reads[i];
    return decodeFunctionResult({ abi: nativeAbi(contract), functionName, data: answer });
  });
}

/** One read; its decoded result, or the RpcError thrown. */
export async function read(contract, functionName, args = [], block = 'latest') {
  const [result] = await readMany([[contract, functionName, args]], block);
  if (result instanceof RpcError) throw result;
  return result;
}

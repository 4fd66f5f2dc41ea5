// Decoding with the ABIs the node knows: the native contracts (by address) and the library contracts
// and token standards (by function selector and event topic, for contracts at any address).
import { decodeEventLog, decodeFunctionData, toEventSelector, toFunctionSelector } from 'viem';
import abis from './abis.json';

/** Native contracts by lowercase address: {name, abi}. */
export const NATIVE = new Map(abis.native.map((c) => [c.address, c]));

/** The address of the native contract named ``name``. */
export const nativeAddress = (name) => abis.native.find((c) => c.name === name).address;

/** The ABI of the native contract named ``name``. */
export const nativeAbi = (name) => abis.native.find((c) => c.name === name).abi;

const contracts = [...abis.native, ...abis.library];
const bySelector = new Map();
const byTopic = new Map();
for (const contract of contracts) {
  for (const item of contract.abi) {
    if (item.type === 'function') {
      const key = toFunctionSelector(item);
      if (!bySelector.has(key)) bySelector.set(key, []);
      bySelector.get(key).push({ contract: contract.name, abi: [item] });
    } else if (item.type === 'event') {
      const key = toEventSelector(item);
      if (!byTopic.has(key)) byTopic.set(key, []);
      byTopic.get(key).push({ contract: contract.name, abi: [item] });
    }
  }
}

function candidates(address, table, key) {
  const native = NATIVE.get((address ?? '').toLowerCase());
  if (native) return [{ contract: native.name, abi: native.abi }];
  return table.get(key) ?? [];
}

/** The call's {contract, name, args: [{name, type, value}]}, or null when no known ABI decodes it. */
export function decodeInput(to, input) {
  if (!input || input.length < 10) return null;
  for (const { contract, abi } of candidates(to, bySelector, input.slice(0, 10))) {
    try {
      const { functionName, args } = decodeFunctionData({ abi, data: input });
      const item = abi.find((i) => i.type === 'function' && i.name === functionName && toFunctionSelector(i) === input.slice(0, 10));
      return { contract, name: functionName, args: (item?.inputs ?? []).map((p, i) => ({ name: p.name, type: p.type, value: args?.[i] })) };
    } catch {
      // not this ABI: try the next
    }
  }
  return null;
}

/** The log's {contract, name, args: [{name, type, value}]}, or null when no known ABI decodes it. */
export function decodeLog(log) {
  if (!log.topics?.length) return null;
  for (const { contract, abi } of candidates(log.address, byTopic, log.topics[0])) {
    try {
      const { eventName, args } = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true });
      const item = abi.find((i) => i.type === 'event' && i.name === eventName);
      return { contract, name: eventName, args: item.inputs.map((p, i) => ({ name: p.name, type: p.type, value: Array.isArray(args) ? args[i] : args[p.name] })) };
    } catch {
      // not this ABI: try the next
    }
  }
  return null;
}

/** A decoded value as text (BigInts in decimal, bytes in hex, arrays and tuples as JSON). */
export function show(value) {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

// An address: balance, nonce, code, its transactions in recent blocks and its token transfers.
import { toEventSelector, pad } from 'viem';
import { batch, call, RpcError } from '../rpc.js';
import { NATIVE, decodeLog, show } from '../decode.js';
import { cmt, num } from '../format.js';
import { AddressLink, Facts, Loaded, TxLink, TxTable, useLoad } from '../ui.jsx';

const SCANNED_BLOCKS = 256;
const LOG_RANGE = 100_000; // the node's bound on one eth_getLogs
const TRANSFER = toEventSelector('event Transfer(address indexed from, address indexed to, uint256 value)');

async function load(address) {
  const head = num(await call('eth_blockNumber'));
  const from = Math.max(0, head - SCANNED_BLOCKS + 1);
  const logsFrom = '0x' + Math.max(0, head - LOG_RANGE + 1).toString(16);
  const topic = pad(address.toLowerCase());
  const numbers = [];
  for (let n = head; n >= from; n -= 1) numbers.push('0x' + n.toString(16));
  const [balance, nonce, code, sent, received, ...blocks] = await batch([
    ['eth_getBalance', [address, 'latest']],
    ['eth_getTransactionCount', [address, 'latest']],
    ['eth_getCode', [address, 'latest']],
    ['eth_getLogs', [{ fromBlock: logsFrom, toBlock: 'latest', topics: [TRANSFER, topic] }]],
    ['eth_getLogs', [{ fromBlock: logsFrom, toBlock: 'latest', topics: [TRANSFER, null, topic] }]],
    ...numbers.map((n) => ['eth_getBlockByNumber', [n, true]]),
  ]);
  for (const answer of [balance, nonce, code]) if (answer instanceof RpcError) throw answer;
  const lower = address.toLowerCase();
  const txs = blocks.filter((b) => b && !(b instanceof RpcError)).flatMap((b) => b.transactions)
    .filter((tx) => tx.from === lower || tx.to === lower);
  const transfers = [...(sent instanceof RpcError ? [] : sent), ...(received instanceof RpcError ? [] : received)]
    .sort((a, b) => num(b.blockNumber) - num(a.blockNumber) || num(b.logIndex) - num(a.logIndex));
  return { balance, nonce, code, txs, transfers, from };
}

export function Address({ address }) {
  const state = useLoad(() => load(address), [address]);
  const native = NATIVE.get(address.toLowerCase());
  return (
    <Loaded state={state}>
      {({ balance, nonce, code, txs, transfers, from }) => (
        <section>
          <h2>Address <span class="mono">{address}</span></h2>
          <Facts testid="address" rows={[
            ['Balance', cmt(balance, 18)],
            ['Nonce', num(nonce)],
            ['Kind', native ? `native contract (${native.name})` : code.length > 2 ? 'contract' : 'account'],
            ['Code', code.length > 2 ? `${(code.length - 2) / 2} bytes` : 'none'],
          ]} />
          {code.length > 2 && <pre class="mono wrap code" data-testid="address-code">{code.slice(0, 2002)}{code.length > 2002 ? '…' : ''}</pre>}
          <h3>Transactions (blocks {from} and later)</h3>
          <TxTable txs={txs} testid="address-txs" withBlock />
          <h3>Token transfers</h3>
          <table data-testid="address-transfers">
            <thead><tr><th>Token</th><th>Transaction</th><th>From</th><th>To</th><th>Amount or id</th></tr></thead>
            <tbody>
              {transfers.map((log) => {
                const decoded = decodeLog(log);
                const arg = (name) => decoded?.args.find((a) => a.name === name)?.value;
                return (
                  <tr key={`${log.transactionHash}-${log.logIndex}`} data-token={log.address}>
                    <td><AddressLink address={log.address} /></td>
                    <td><TxLink hash={log.transactionHash} /></td>
                    <td><AddressLink address={arg('from')} /></td>
                    <td><AddressLink address={arg('to')} /></td>
                    <td class="mono" data-amount>{decoded ? show(arg('value') ?? arg('tokenId')) : num(log.data)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      )}
    </Loaded>
  );
}

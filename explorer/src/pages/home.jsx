// The dashboard: the latest blocks and transactions, updated live from eth_subscribe newHeads.
import { useEffect, useState } from 'preact/hooks';
import { batch, call, subscribeHeads } from '../rpc.js';
import { num, time } from '../format.js';
import { BlockLink, TxTable } from '../ui.jsx';

const SHOWN = 10;

async function latestBlocks() {
  const head = num(await call('eth_blockNumber'));
  const numbers = [];
  for (let n = head; n >= 0 && numbers.length < SHOWN; n -= 1) numbers.push(n);
  const blocks = await batch(numbers.map((n) => ['eth_getBlockByNumber', ['0x' + n.toString(16), true]]));
  return blocks.filter((b) => b && !(b instanceof Error));
}

export function Home() {
  const [blocks, setBlocks] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const refresh = () => latestBlocks().then(setBlocks, setError);
    refresh();
    return subscribeHeads(refresh);
  }, []);
  if (error) return <p class="error">{error.message}</p>;
  if (!blocks) return <p class="loading">Loading…</p>;
  const txs = blocks.flatMap((b) => b.transactions).slice(0, SHOWN);
  return (
    <div class="columns">
      <section>
        <h2>Latest blocks</h2>
        <table data-testid="latest-blocks">
          <thead><tr><th>Block</th><th>Time</th><th>Txs</th><th>Gas used</th></tr></thead>
          <tbody>
            {blocks.map((b) => (
              <tr key={b.hash} data-block={num(b.number)}>
                <td><BlockLink number={b.number} /></td>
                <td>{time(b.timestamp)}</td>
                <td>{b.transactions.length}</td>
                <td>{num(b.gasUsed).toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Latest transactions</h2>
        <TxTable txs={txs} testid="latest-txs" />
        {txs.length === 0 && <p>No transactions in the latest {SHOWN} blocks.</p>}
      </section>
    </div>
  );
}

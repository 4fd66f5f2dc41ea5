// One block: its header fields and its transactions.
import { call } from '../rpc.js';
import { num, time } from '../format.js';
import { AddressLink, Facts, Loaded, TxTable, useLoad } from '../ui.jsx';

export function Block({ id }) {
  const state = useLoad(async () => {
    const block = id.length === 66
      ? await call('eth_getBlockByHash', id, true)
      : await call('eth_getBlockByNumber', '0x' + BigInt(id).toString(16), true);
    if (!block) throw new Error(`no block ${id}`);
    return block;
  }, [id]);
  return (
    <Loaded state={state}>
      {(b) => (
        <section>
          <h2>Block {num(b.number)}</h2>
          <Facts testid="block" rows={[
            ['Number', num(b.number)],
            ['Hash', <span class="mono">{b.hash}</span>],
            ['Parent', <a class="mono" href={`#/block/${b.parentHash}`}>{b.parentHash}</a>],
            ['Time', time(b.timestamp)],
            ['Proposer', <AddressLink address={b.miner} full />],
            ['Gas used', `${num(b.gasUsed).toLocaleString('en-US')} of ${num(b.gasLimit).toLocaleString('en-US')}`],
            ['Base fee', b.baseFeePerGas ? `${num(b.baseFeePerGas).toLocaleString('en-US')} wei` : '—'],
            ['State root', <span class="mono">{b.stateRoot}</span>],
            ['Transactions', b.transactions.length],
          ]} />
          <TxTable txs={b.transactions} testid="block-txs" />
        </section>
      )}
    </Loaded>
  );
}

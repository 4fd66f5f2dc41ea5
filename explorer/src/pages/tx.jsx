// One transaction: its fields, receipt, decoded input and logs, and the call tree from callTracer.
import { batch, RpcError } from '../rpc.js';
import { decodeInput, decodeLog } from '../decode.js';
import { cmt, num } from '../format.js';
import { AddressLink, BlockLink, Decoded, Facts, Loaded, useLoad } from '../ui.jsx';

function CallFrame({ frame, depth = 0 }) {
  const decoded = decodeInput(frame.to, frame.input);
  return (
    <li data-testid="call-frame">
      <span class="call-type">{frame.type}</span> <AddressLink address={frame.to} />{' '}
      {decoded ? <b>{decoded.contract}.{decoded.name}</b> : null}{' '}
      <span class="muted">value {cmt(frame.value ?? '0x0')}, gas used {num(frame.gasUsed).toLocaleString('en-US')}</span>
      {frame.error ? <span class="error"> {frame.error}{frame.revertReason ? `: ${frame.revertReason}` : ''}</span> : null}
      {frame.calls?.length ? <ul>{frame.calls.map((c, i) => <CallFrame key={i} frame={c} depth={depth + 1} />)}</ul> : null}
    </li>
  );
}

export function Tx({ hash }) {
  const state = useLoad(async () => {
    const [tx, receipt, trace] = await batch([
      ['eth_getTransactionByHash', [hash]],
      ['eth_getTransactionReceipt', [hash]],
      ['debug_traceTransaction', [hash, { tracer: 'callTracer' }]],
    ]);
    if (tx instanceof RpcError) throw tx;
    if (!tx) throw new Error(`no transaction ${hash}`);
    return { tx, receipt: receipt instanceof RpcError ? null : receipt, trace: trace instanceof RpcError ? null : trace };
  }, [hash]);
  return (
    <Loaded state={state}>
      {({ tx, receipt, trace }) => {
        const input = decodeInput(tx.to, tx.input);
        return (
          <section>
            <h2>Transaction</h2>
            <Facts testid="tx" rows={[
              ['Hash', <span class="mono">{tx.hash}</span>],
              ['Status', receipt ? (num(receipt.status) === 1 ? 'success' : 'failed') : 'pending'],
              ['Block', tx.blockNumber ? <BlockLink number={tx.blockNumber} /> : 'pending'],
              ['From', <AddressLink address={tx.from} full />],
              ['To', tx.to ? <AddressLink address={tx.to} full /> : 'contract creation'],
              ...(receipt?.contractAddress ? [['Created', <AddressLink address={receipt.contractAddress} full />]] : []),
              ['Value', cmt(tx.value)],
              ['Nonce', num(tx.nonce)],
              ['Gas used', receipt ? num(receipt.gasUsed).toLocaleString('en-US') : '—'],
              ['Effective gas price', receipt ? `${num(receipt.effectiveGasPrice).toLocaleString('en-US')} wei` : '—'],
            ]} />
            <h3>Input</h3>
            {input ? <Decoded decoded={input} testid="tx-input" /> : <p class="mono wrap" data-testid="tx-input-raw">{tx.input.length > 2 ? tx.input.slice(0, 522) : 'none'}</p>}
            <h3>Logs</h3>
            {receipt?.logs.length ? (
              <ol data-testid="tx-logs">
                {receipt.logs.map((log) => {
                  const decoded = decodeLog(log);
                  return (
                    <li key={log.logIndex} data-testid="tx-log">
                      <AddressLink address={log.address} full />
                      {decoded ? <Decoded decoded={decoded} /> : <pre class="mono">{log.topics.join('\n')}{'\n'}{log.data}</pre>}
                    </li>
                  );
                })}
              </ol>
            ) : <p>No logs.</p>}
            <h3>Call tree</h3>
            {trace ? <ul class="calls" data-testid="call-tree"><CallFrame frame={trace} /></ul> : <p>No trace available.</p>}
          </section>
        );
      }}
    </Loaded>
  );
}

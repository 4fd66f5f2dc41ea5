// Shared pieces of the pages: data loading, links, tables and the decoded-call view.
import { useEffect, useState } from 'preact/hooks';
import { show } from './decode.js';
import { cmt, short } from './format.js';

/** Runs ``load`` when ``deps`` change; {data, error} (data null while loading). */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    setState({ data: null, error: null });
    load().then((data) => live && setState({ data, error: null }), (error) => live && setState({ data: null, error }));
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

/** The loading text, the error, or the page body rendered from the data. */
export function Loaded({ state, children }) {
  if (state.error) return <p class="error" data-testid="error">{state.error.message}</p>;
  if (state.data === null) return <p class="loading">Loading…</p>;
  return children(state.data);
}

export const BlockLink = ({ number }) => <a href={`#/block/${Number(BigInt(number))}`}>{Number(BigInt(number))}</a>;
export const TxLink = ({ hash, full }) => <a href={`#/tx/${hash}`} class="mono">{full ? hash : short(hash)}</a>;
export const AddressLink = ({ address, full }) =>
  address ? <a href={`#/address/${address}`} class="mono">{full ? address : short(address)}</a> : <span>—</span>;

/** A two-column table of label/value rows. */
export const Facts = ({ rows, testid }) => (
  <table class="facts" data-testid={testid}>
    <tbody>
      {rows.map(([label, value]) => (
        <tr key={label}>
          <th>{label}</th>
          <td data-field={label}>{value}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** A decoded call or event: its contract, name and named arguments. */
export const Decoded = ({ decoded, testid }) => (
  <div class="decoded" data-testid={testid}>
    <span class="sig">
      {decoded.contract}.{decoded.name}
    </span>
    <table>
      <tbody>
        {decoded.args.map((arg, i) => (
          <tr key={i}>
            <th>{arg.name || `#${i}`}</th>
            <td class="type">{arg.type}</td>
            <td class="mono" data-arg={arg.name}>{show(arg.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/** A table of transactions: hash, block (when `withBlock`), from, to and value. */
export const TxTable = ({ txs, testid, withBlock }) => (
  <table data-testid={testid}>
    <thead><tr><th>Hash</th>{withBlock && <th>Block</th>}<th>From</th><th>To</th><th>Value</th></tr></thead>
    <tbody>
      {txs.map((tx) => (
        <tr key={tx.hash} data-tx={tx.hash}>
          <td><TxLink hash={tx.hash} /></td>
          {withBlock && <td><BlockLink number={tx.blockNumber} /></td>}
          <td><AddressLink address={tx.from} /></td>
          <td>{tx.to ? <AddressLink address={tx.to} /> : 'contract creation'}</td>
          <td>{cmt(tx.value)}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

// The business middleware: rule sets, workflow definitions drawn as state diagrams with the number
// of live instances in each state, one instance's history, and (with the admin RPC) webhooks.
import { useEffect, useRef } from 'preact/hooks';
import { batch, RpcError } from '../rpc.js';
import { read, readMany } from '../contracts.js';
import { cmt, num, time } from '../format.js';
import { AddressLink, Facts, Loaded, useLoad } from '../ui.jsx';

const MAX_LISTED = 200;
const range = (from, count) => Array.from({ length: Math.min(count, MAX_LISTED) }, (_, i) => from + i);
const safeId = (name) => 's_' + name.replace(/[^A-Za-z0-9_]/g, '_');

/** The definition as a Mermaid state diagram, each state labelled with its live instance count. */
export function stateDiagram(definition, live) {
  const lines = ['stateDiagram-v2'];
  for (const name of Object.keys(definition.states ?? {})) {
    const count = live.get(name) ?? 0;
    lines.push(`  state "${name}${count ? ` (${count} live)` : ''}" as ${safeId(name)}`);
  }
  if (definition.start) lines.push(`  [*] --> ${safeId(definition.start)}`);
  for (const [name, state] of Object.entries(definition.states ?? {})) {
    const transitions = state.transitions ?? [];
    for (const t of transitions) {
      const on = typeof t.on === 'string' ? t.on : Object.entries(t.on ?? {}).map(([k, v]) => `${k} ${v}`).join(' ');
      lines.push(`  ${safeId(name)} --> ${safeId(t.to)}${on ? ` : ${on.replace(/[:;]/g, ' ')}` : ''}`);
    }
    if (transitions.length === 0) lines.push(`  ${safeId(name)} --> [*]`);
  }
  return lines.join('\n');
}

let mermaidReady = null;
let diagrams = 0;

function Diagram({ text, testid }) {
  const box = useRef(null);
  useEffect(() => {
    let live = true;
    mermaidReady ??= import('mermaid').then(({ default: mermaid }) => {
      mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
      return mermaid;
    });
    mermaidReady.then((mermaid) => mermaid.render(`diagram${(diagrams += 1)}`, text)).then(({ svg }) => {
      if (live) box.current.innerHTML = svg;
    }, (error) => {
      if (live) box.current.textContent = `diagram: ${error.message}`;
    });
    return () => {
      live = false;
    };
  }, [text]);
  return <div class="diagram" ref={box} data-testid={testid} data-source={text} />;
}

async function loadMiddleware() {
  const [ruleSetCount, definitionCount, instanceCount] = await readMany([
    ['Rules', 'ruleSetCount'], ['Workflow', 'definitionCount'], ['Workflow', 'instanceCount'],
  ]);
  const ruleIds = range(0, num(ruleSetCount));
  const ruleReads = await readMany(ruleIds.flatMap((id) => [
    ['Rules', 'ruleSetOwner', [BigInt(id)]], ['Rules', 'ruleSetBudget', [BigInt(id)]],
    ['Rules', 'factIds', [BigInt(id)]], ['Rules', 'pendingActivations', [BigInt(id)]],
  ]));
  const ruleSets = ruleIds.map((id, i) => ({
    id, owner: ruleReads[4 * i], budget: ruleReads[4 * i + 1], facts: ruleReads[4 * i + 2].length, pending: ruleReads[4 * i + 3],
  }));
  const definitionIds = range(1, num(definitionCount));
  const definitionReads = await readMany(definitionIds.map((id) => ['Workflow', 'getDefinition', [BigInt(id)]]));
  const instanceIds = range(1, num(instanceCount));
  const instanceReads = await readMany(instanceIds.flatMap((id) => [
    ['Workflow', 'instanceDefinition', [BigInt(id)]], ['Workflow', 'instanceState', [BigInt(id)]],
  ]));
  const instances = instanceIds.map((id, i) => {
    const [state, ended, enteredAt] = instanceReads[2 * i + 1];
    return { id, definition: num(instanceReads[2 * i]), state, ended, enteredAt };
  });
  const definitions = definitionIds.map((id, i) => {
    const [name, version, json] = definitionReads[i];
    const live = new Map();
    for (const instance of instances) {
      if (instance.definition === id && !instance.ended) live.set(instance.state, (live.get(instance.state) ?? 0) + 1);
    }
    return { id, name, version: num(version), definition: JSON.parse(json), live,
      instances: instances.filter((x) => x.definition === id) };
  });
  const [webhooks, deadLetters] = await batch([['admin_listWebhooks', []], ['admin_listDeadLetters', []]]);
  return { ruleSets, definitions, webhooks, deadLetters };
}

/** A subscription's filter as admin_listWebhooks answers it (addresses, topics, block events). */
const webhookFilter = (w) => JSON.stringify({ addresses: w.addresses, topics: w.topics, blockEvents: w.blockEvents });

function Webhooks({ webhooks, deadLetters }) {
  if (webhooks instanceof RpcError) {
    return <p data-testid="webhooks-off">The webhook admin methods are off on this node (<code>[webhooks] admin_rpc = true</code> turns them on).</p>;
  }
  return (
    <>
      {webhooks.length === 0 ? <p data-testid="webhooks-none">No subscriptions.</p> : (
        <table data-testid="webhooks">
          <thead><tr><th>Id</th><th>URL</th><th>Source</th><th>Filter</th></tr></thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.id} data-webhook={w.id}><td>{w.id}</td><td class="mono">{w.url}</td><td>{w.source}</td>
                <td class="mono">{webhookFilter(w)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Deliveries that failed (dead letters)</h4>
      {deadLetters instanceof RpcError ? <p>Not readable: {deadLetters.message}</p>
        : deadLetters.length === 0 ? <p data-testid="dead-letters-none">None.</p> : (
          <table data-testid="dead-letters">
            <thead><tr><th>Seq</th><th>Subscription</th><th>URL</th><th>Idempotency key</th><th>Attempts</th><th>Last error</th></tr></thead>
            <tbody>
              {deadLetters.map((d) => (
                <tr key={d.sequence} data-dead-letter={d.sequence}><td>{d.sequence}</td><td>{d.subscription}</td>
                  <td class="mono">{d.url}</td><td class="mono">{d.idempotencyKey}</td><td>{d.attempts}</td><td>{d.lastError}</td></tr>
              ))}
            </tbody>
          </table>
        )}
    </>
  );
}

export function Middleware() {
  const state = useLoad(loadMiddleware, []);
  return (
    <Loaded state={state}>
      {({ ruleSets, definitions, webhooks, deadLetters }) => (
        <section>
          <h2>Rule sets</h2>
          <table data-testid="rule-sets">
            <thead><tr><th>Id</th><th>Owner</th><th>Budget</th><th>Facts</th><th>Activations waiting</th></tr></thead>
            <tbody>
              {ruleSets.map((r) => (
                <tr key={r.id} data-rule-set={r.id}>
                  <td>{r.id}</td><td><AddressLink address={r.owner.toLowerCase()} full /></td>
                  <td>{cmt(r.budget)}</td><td>{r.facts}</td><td>{num(r.pending)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Workflow definitions</h2>
          {definitions.map((d) => (
            <article key={d.id} class="definition" data-definition={d.id}>
              <h3>#{d.id} {d.name} v{d.version}</h3>
              {d.definition.description && <p>{d.definition.description}</p>}
              <Diagram text={stateDiagram(d.definition, d.live)} testid="workflow-diagram" />
              <p>Instances: {d.instances.map((x, i) => (
                <span key={x.id}>{i ? ', ' : ''}<a href={`#/instance/${x.id}`}>#{x.id}</a> ({x.state}{x.ended ? ', ended' : ''})</span>
              ))}{d.instances.length === 0 && 'none'}</p>
            </article>
          ))}
          {definitions.length === 0 && <p>No definitions deployed.</p>}
          <h2>Webhook subscriptions</h2>
          <Webhooks webhooks={webhooks} deadLetters={deadLetters} />
        </section>
      )}
    </Loaded>
  );
}

export function Instance({ id }) {
  const state = useLoad(async () => {
    const n = BigInt(id);
    const [definition, [stateName, ended, enteredAt, nextTimerAt], length, active] = await readMany([
      ['Workflow', 'instanceDefinition', [n]], ['Workflow', 'instanceState', [n]],
      ['Workflow', 'historyLength', [n]], ['Workflow', 'activeStates', [n]],
    ]);
    const [name, version] = await read('Workflow', 'getDefinition', [definition]);
    const history = await readMany(range(0, num(length)).map((i) => ['Workflow', 'historyEntry', [n, BigInt(i)]]));
    return { definition: num(definition), name, version: num(version), stateName, ended, enteredAt, nextTimerAt, active, history };
  }, [id]);
  return (
    <Loaded state={state}>
      {(x) => (
        <section>
          <h2>Workflow instance #{id}</h2>
          <Facts testid="instance" rows={[
            ['Definition', `#${x.definition} ${x.name} v${x.version}`],
            ['State', x.stateName],
            ['Active states', x.active.join(', ')],
            ['Ended', x.ended ? 'yes' : 'no'],
            ['Entered at', time(x.enteredAt)],
            ['Next timer', x.nextTimerAt ? time(x.nextTimerAt) : '—'],
          ]} />
          <h3>History</h3>
          <table data-testid="instance-history">
            <thead><tr><th>From</th><th>To</th><th>Cause</th><th>Actor</th><th>Time</th></tr></thead>
            <tbody>
              {x.history.map(([from, to, cause, actor, at], i) => (
                <tr key={i}><td>{from || '—'}</td><td>{to}</td><td>{cause}</td><td><AddressLink address={actor.toLowerCase()} /></td><td>{time(at)}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Loaded>
  );
}

// Validators and backups (power, commission, uptime, jailed), one candidate with its delegators,
// and the governance proposals with their votes.
import { batch, call, RpcError } from '../rpc.js';
import { read } from '../contracts.js';
import { cmt, num, percent, time } from '../format.js';
import { AddressLink, BlockLink, Facts, Loaded, useLoad } from '../ui.jsx';

const UPTIME_BLOCKS = 50;

async function loadValidators() {
  const { height, data } = await call('cmt_queryValidators');
  const head = num(height);
  const heights = [];
  for (let n = head; n > Math.max(0, head - UPTIME_BLOCKS); n -= 1) heights.push('0x' + n.toString(16));
  const absent = await batch(heights.map((h) => ['cmt_queryAbsentValidators', [h]]));
  const missed = new Map();
  for (const answer of absent) {
    if (answer instanceof RpcError) continue;
    for (const v of answer.data) missed.set(v.owner, (missed.get(v.owner) ?? 0) + 1);
  }
  return { height: head, window: heights.length, candidates: data, missed };
}

export function Validators() {
  const state = useLoad(loadValidators, []);
  return (
    <Loaded state={state}>
      {({ height, window, candidates, missed }) => (
        <section>
          <h2>Validators and candidates <span class="muted">at block {height}</span></h2>
          <table data-testid="validators">
            <thead>
              <tr><th>Rank</th><th>State</th><th>Name</th><th>Owner</th><th>Voting power</th><th>Stake</th>
                <th>Commission</th><th>Signed / missed (last {window})</th><th>Jailed</th></tr>
            </thead>
            <tbody>
              {candidates.map((c) => {
                const elected = c.state !== 'candidate';
                const miss = missed.get(c.owner) ?? 0;
                return (
                  <tr key={c.id} data-owner={c.owner} data-state={c.state}>
                    <td>{c.rank === null ? '—' : num(c.rank)}</td>
                    <td>{c.state}</td>
                    <td>{c.description.name}</td>
                    <td><a class="mono" href={`#/candidate/${c.owner}`}>{c.owner}</a></td>
                    <td data-power>{num(c.votingPower).toLocaleString('en-US')}</td>
                    <td>{cmt(c.stake, 2)}</td>
                    <td>{percent(c.commissionBp)}</td>
                    <td>{c.state === 'validator' ? `${window - miss} / ${miss}` : elected ? 'backup' : '—'}</td>
                    <td>{c.jailed ? 'jailed' : 'no'}</td>
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

export function Candidate({ owner }) {
  const state = useLoad(async () => {
    const [{ data }, delegations] = await Promise.all([call('cmt_queryValidator', owner), read('Staking', 'getCandidateDelegations', [owner])]);
    return { candidate: data, delegations };
  }, [owner]);
  return (
    <Loaded state={state}>
      {({ candidate: c, delegations }) => (
        <section>
          <h2>Candidate {c.description.name || c.owner}</h2>
          <Facts testid="candidate" rows={[
            ['Owner', <AddressLink address={c.owner} full />],
            ['State', c.state],
            ['Consensus key', <span class="mono">{c.pubKey}</span>],
            ['Stake', cmt(c.stake)],
            ['Self stake', cmt(c.selfStake)],
            ['Most stake accepted', cmt(c.maxAmount)],
            ['Voting power', num(c.votingPower).toLocaleString('en-US')],
            ['Commission', percent(c.commissionBp)],
            ['Pending reward', cmt(c.pendingReward)],
            ['Missed blocks (in a row)', num(c.missedBlocks)],
            ['Verified / active / jailed', `${c.verified ? 'yes' : 'no'} / ${c.active ? 'yes' : 'no'} / ${c.jailed ? 'yes' : 'no'}`],
            ['Declared at block', <BlockLink number={c.declaredAt} />],
            ['Website', c.description.website || '—'],
          ]} />
          <h3>Delegators ({delegations.length})</h3>
          <table data-testid="delegators">
            <thead><tr><th>Delegator</th><th>Amount</th><th>Commission</th><th>Rewarded</th><th>Slashed</th></tr></thead>
            <tbody>
              {delegations.map((d) => (
                <tr key={d.delegator} data-delegator={d.delegator.toLowerCase()}>
                  <td><AddressLink address={d.delegator.toLowerCase()} full /></td>
                  <td data-amount={d.amount.toString()}>{cmt(d.amount)}</td>
                  <td>{percent(d.commissionBp)}</td>
                  <td>{cmt(d.rewarded)}</td>
                  <td>{cmt(d.slashed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Loaded>
  );
}

export function Governance() {
  const state = useLoad(() => call('cmt_queryProposals'), []);
  return (
    <Loaded state={state}>
      {({ data }) => (
        <section>
          <h2>Governance proposals</h2>
          {data.length === 0 && <p>No proposals.</p>}
          {data.map((p) => (
            <article class="proposal" key={p.id} data-proposal={num(p.id)}>
              <h3>#{num(p.id)} {p.kind === 'transfer' ? `transfer ${cmt(p.amount)} to ${p.to}` : `set ${p.name} = ${p.value}`}</h3>
              <Facts rows={[
                ['Status', p.status],
                ['Reason', p.reason],
                ['Proposer', <AddressLink address={p.proposer} full />],
                ['Created / expires', `${time(p.createdAt)} / ${time(p.expireAt)}`],
                ['Outcome', p.detail || '—'],
              ]} />
              <table data-testid="votes">
                <thead><tr><th>Voter</th><th>Answer</th><th>Power</th></tr></thead>
                <tbody>
                  {p.votes.map((v) => (
                    <tr key={v.voter} data-voter={v.voter}>
                      <td><AddressLink address={v.voter} full /></td>
                      <td>{v.answer}</td>
                      <td>{num(v.power).toLocaleString('en-US')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </article>
          ))}
        </section>
      )}
    </Loaded>
  );
}

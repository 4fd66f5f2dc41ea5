// The CMT supply over block time against the white paper's schedule: 1,000M CMT at genesis,
// 8% a year compounded, never above the 10,000M cap; with minted, burned, bonded, locked and circulating.
import { useEffect, useRef } from 'preact/hooks';
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { batch, call, RpcError } from '../rpc.js';
import { cmt, num, time } from '../format.js';
import { Facts, Loaded, useLoad } from '../ui.jsx';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const POINTS = 40;
const WEI = 10n ** 18n;
const GENESIS_SUPPLY = 1_000_000_000; // CMT
const CAP = 10_000_000_000; // CMT
const YEARLY_GROWTH = 1.08;
const YEAR_SECONDS = 365.25 * 24 * 3600;
const SERIES = ['total', 'circulating', 'bonded', 'locked'];
const COLORS = { total: '#13314f', circulating: '#2f9e44', bonded: '#2f6fb0', locked: '#e8590c', schedule: '#b3261e' };

/** The white paper's supply (CMT) ``seconds`` after genesis. */
export const scheduled = (seconds) => Math.min(CAP, GENESIS_SUPPLY * YEARLY_GROWTH ** (seconds / YEAR_SECONDS));

const toCmt = (wei) => Number(BigInt(wei) / 10n ** 12n) / 1e6;

async function load() {
  const head = num(await call('eth_blockNumber'));
  const heights = [...new Set(Array.from({ length: POINTS }, (_, i) => Math.round((head * i) / (POINTS - 1))))];
  const answers = await batch([
    ...heights.map((h) => ['cmt_querySupply', ['0x' + h.toString(16)]]),
    ...heights.map((h) => ['eth_getBlockByNumber', ['0x' + h.toString(16), false]]),
  ]);
  const points = heights.map((height, i) => {
    const supply = answers[i];
    const block = answers[heights.length + i];
    if (supply instanceof RpcError) throw supply;
    return { height, time: num(block.timestamp), ...supply.data };
  });
  return points;
}

function SupplyChart({ points }) {
  const canvas = useRef(null);
  useEffect(() => {
    const start = points[0].time;
    const series = SERIES.map((name) => ({
      label: name, borderColor: COLORS[name], backgroundColor: COLORS[name],
      data: points.map((p) => ({ x: p.time - start, y: toCmt(p[name]) })), pointRadius: 2,
    }));
    series.push({
      label: 'white paper schedule', borderDash: [6, 4], pointRadius: 0, borderColor: COLORS.schedule, backgroundColor: COLORS.schedule,
      data: points.map((p) => ({ x: p.time - start, y: scheduled(p.time - start) })),
    });
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: { datasets: series },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { type: 'linear', title: { display: true, text: 'seconds since genesis' } },
          y: { type: 'linear', title: { display: true, text: 'CMT' } },
        },
      },
    });
    return () => chart.destroy();
  }, [points]);
  const exported = JSON.stringify(points.map(({ height, time: t, total, minted, burned, bonded, locked, circulating }) =>
    ({ height, time: t, total, minted, burned, bonded, locked, circulating })));
  return <div class="chart"><canvas ref={canvas} data-testid="supply-chart" data-points={exported} /></div>;
}

export function Supply() {
  const state = useLoad(load, []);
  return (
    <Loaded state={state}>
      {(points) => {
        const last = points[points.length - 1];
        const elapsed = last.time - points[0].time;
        return (
          <section>
            <h2>CMT supply <span class="muted">at block {last.height}</span></h2>
            <SupplyChart points={points} />
            <Facts testid="supply" rows={[
              ['Total', cmt(last.total)],
              ['White paper schedule', `${scheduled(elapsed).toLocaleString('en-US', { maximumFractionDigits: 4 })} CMT`],
              ['Minted (block awards)', cmt(last.minted)],
              ['Burned (base fees)', cmt(last.burned)],
              ['Bonded', cmt(last.bonded)],
              ['Unbonding', cmt(last.unbonding)],
              ['Locked (vesting)', cmt(last.locked)],
              ['Foundation reserve', cmt(last.reserve)],
              ['Circulating', cmt(last.circulating)],
              ['Cap', `${CAP.toLocaleString('en-US')} CMT`],
            ]} />
            <p class="muted">Sampled at {points.length} heights from 0 to {last.height} ({time(points[0].time)} to {time(last.time)}); the
              schedule is {GENESIS_SUPPLY.toLocaleString('en-US')} CMT at genesis growing 8% a year, compounded, capped at {CAP.toLocaleString('en-US')} CMT.
              {' '}Total supply at the last point: {(BigInt(last.total) / WEI).toLocaleString('en-US')} CMT.</p>
          </section>
        );
      }}
    </Loaded>
  );
}

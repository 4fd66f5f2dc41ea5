// Drives headless Chromium (playwright-core, Debian's chromium) over every explorer page of a node,
// prints what each page rendered as JSON and writes a screenshot of each page.
// Usage: node explorer_pages.mjs <node url> <screenshot dir> <targets json>
// targets: {block, logTx, tokenHolder, token, candidate, instance, pages?}; pages (default: all) names
// the pages to visit, of: home, search, validators, candidate, governance, supply, middleware, instance.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [url, shots, targetsJson] = process.argv.slice(2);
const targets = JSON.parse(targetsJson);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
const report = { errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => report.errors.push(String(error)));
  const texts = (selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent.trim()));
  const field = (testid, label) => page.textContent(`[data-testid="${testid}"] td[data-field="${label}"]`);
  const visit = async (hash, ready, shot) => {
    await page.goto(`${url}/explorer/${hash}`);
    await page.waitForSelector(ready, { timeout: 20_000 });
    await page.screenshot({ path: join(shots, `explorer-${shot}.png`), fullPage: true });
  };

  const pages = {};
  pages.home = async () => {
    await visit('#/', '[data-testid="latest-blocks"] tr[data-block]', 'home');
    report.homeBlocks = await page.$$eval('[data-testid="latest-blocks"] tr[data-block]', (rows) => rows.map((r) => Number(r.dataset.block)));
    report.homeTxs = await page.$$eval('[data-testid="latest-txs"] tr[data-tx]', (rows) => rows.map((r) => r.dataset.tx));
    // Live: a block made after the page loaded shows up without a reload.
    const first = report.homeBlocks[0];
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="latest-blocks"] tr[data-block]')?.dataset.block) > n, first, { timeout: 20_000 });
    report.liveBlock = await page.$eval('[data-testid="latest-blocks"] tr[data-block]', (r) => Number(r.dataset.block));
  };

  pages.search = async () => {
    // Search by block number leads to the block page.
    await page.goto(`${url}/explorer/#/`);
    await page.fill('[data-testid="search"]', String(targets.block));
    await page.press('[data-testid="search"]', 'Enter');
    await page.waitForSelector('[data-testid="block"]');
    report.blockNumber = await field('block', 'Number');
    report.blockHash = await field('block', 'Hash');
    await page.screenshot({ path: join(shots, 'explorer-block.png'), fullPage: true });

    // Search by transaction hash leads to the transaction page, with decoded input and logs.
    await page.goto(`${url}/explorer/#/`);
    await page.fill('[data-testid="search"]', targets.logTx);
    await page.press('[data-testid="search"]', 'Enter');
    await page.waitForSelector('[data-testid="call-tree"]');
    report.txInput = await page.textContent('[data-testid="tx-input"] .sig');
    report.txLogs = await page.$$eval('[data-testid="tx-log"] .decoded', (nodes) => nodes.map((n) => ({
      name: n.querySelector('.sig').textContent,
      args: Object.fromEntries([...n.querySelectorAll('td[data-arg]')].map((td) => [td.dataset.arg, td.textContent])),
    })));
    report.callFrames = (await texts('[data-testid="call-frame"]')).length;
    await page.screenshot({ path: join(shots, 'explorer-tx.png'), fullPage: true });

    await page.goto(`${url}/explorer/#/`);
    await page.fill('[data-testid="search"]', targets.tokenHolder);
    await page.press('[data-testid="search"]', 'Enter');
    await page.waitForSelector('[data-testid="address"]');
    report.addressBalance = await field('address', 'Balance');
    report.addressNonce = await field('address', 'Nonce');
    report.addressTxs = await page.$$eval('[data-testid="address-txs"] tr[data-tx]', (rows) => rows.map((r) => r.dataset.tx));
    report.addressTransfers = await page.$$eval('[data-testid="address-transfers"] tr[data-token]', (rows) => rows.map((r) => ({
      token: r.dataset.token, amount: r.querySelector('td[data-amount]').textContent })));
    await page.screenshot({ path: join(shots, 'explorer-address.png'), fullPage: true });

    await visit(`#/address/${targets.token}`, '[data-testid="address-code"]', 'contract');
    report.contractCode = await field('address', 'Code');
  };

  pages.validators = async () => {
    await visit('#/validators', '[data-testid="validators"] tr[data-owner]', 'validators');
    report.validators = await page.$$eval('[data-testid="validators"] tr[data-owner]', (rows) => rows.map((r) => ({
      owner: r.dataset.owner, state: r.dataset.state, power: r.querySelector('td[data-power]').textContent,
      cells: [...r.querySelectorAll('td')].map((td) => td.textContent) })));
  };

  pages.candidate = async () => {
    await visit(`#/candidate/${targets.candidate}`, '[data-testid="delegators"]', 'candidate');
    report.delegators = await page.$$eval('[data-testid="delegators"] tr[data-delegator]', (rows) => rows.map((r) => ({
      delegator: r.dataset.delegator, amount: r.querySelector('td[data-amount]').dataset.amount })));
  };

  pages.governance = async () => {
    await visit('#/governance', '[data-proposal]', 'governance');
    report.proposals = await page.$$eval('[data-proposal]', (nodes) => nodes.map((n) => ({
      id: Number(n.dataset.proposal), title: n.querySelector('h3').textContent,
      status: n.querySelector('td[data-field="Status"]').textContent,
      voters: [...n.querySelectorAll('tr[data-voter]')].map((r) => r.dataset.voter) })));
  };

  pages.supply = async () => {
    await visit('#/supply', '[data-testid="supply-chart"][data-points]', 'supply');
    report.supplyPoints = JSON.parse(await page.getAttribute('[data-testid="supply-chart"]', 'data-points'));
    report.supplyChartDrawn = await page.$eval('[data-testid="supply-chart"]', (c) => c.width > 0 && c.height > 0);
  };

  pages.middleware = async () => {
    await page.goto(`${url}/explorer/#/middleware`);
    await page.waitForSelector('[data-testid^="webhooks"]', { timeout: 20_000 });
    if (await page.$('[data-testid="workflow-diagram"]')) await page.waitForSelector('[data-testid="workflow-diagram"] svg', { timeout: 20_000 });
    await page.screenshot({ path: join(shots, 'explorer-middleware.png'), fullPage: true });
    report.ruleSets = await page.$$eval('[data-testid="rule-sets"] tr[data-rule-set]', (rows) => rows.map((r) => ({
      id: Number(r.dataset.ruleSet), cells: [...r.querySelectorAll('td')].map((td) => td.textContent) })));
    report.diagrams = await page.$$eval('[data-testid="workflow-diagram"]', (nodes) => nodes.map((n) => ({
      source: n.dataset.source, svgText: n.querySelector('svg')?.textContent ?? '' })));
    report.webhooksOff = (await page.$('[data-testid="webhooks-off"]')) !== null;
    report.webhooksNone = (await page.$('[data-testid="webhooks-none"]')) !== null;
    report.webhooks = await page.$$eval('[data-testid="webhooks"] tr[data-webhook]', (rows) => rows.map((r) =>
      [...r.querySelectorAll('td')].map((td) => td.textContent)));
    report.deadLettersNone = (await page.$('[data-testid="dead-letters-none"]')) !== null;
    report.deadLetters = await page.$$eval('[data-testid="dead-letters"] tr[data-dead-letter]', (rows) => rows.map((r) =>
      [...r.querySelectorAll('td')].map((td) => td.textContent)));
  };

  pages.instance = async () => {
    await visit(`#/instance/${targets.instance}`, '[data-testid="instance-history"] tbody tr', 'instance');
    report.instanceState = await field('instance', 'State');
    report.instanceHistory = await page.$$eval('[data-testid="instance-history"] tbody tr', (rows) => rows.map((r) =>
      [...r.querySelectorAll('td')].map((td) => td.textContent)));
  };

  for (const name of targets.pages ?? Object.keys(pages)) await pages[name]();
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));

// Gathers the ABIs the explorer decodes with into src/abis.json: the native contracts' ABIs
// (beside their interfaces, at the addresses of vm/native/addresses.py) and the library contracts'
// ABIs with the token standards they build on (from the forge artifacts in contracts/out).
// Run after `npx forge build` in contracts/: `node explorer/abis.mjs`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path) => JSON.parse(readFileSync(join(repo, path), 'utf8'));

const NATIVE = [
  ['Vesting', '0x0000000000000000000000000000000000000c01', 'vm/native/interfaces/IVesting.abi.json'],
  ['Staking', '0x0000000000000000000000000000000000000c02', 'consensus/dpos/IStaking.abi.json'],
  ['Governance', '0x0000000000000000000000000000000000000c03', 'consensus/dpos/IGovernance.abi.json'],
  ['Rules', '0x0000000000000000000000000000000000000c10', 'middleware/rules/IRules.abi.json'],
  ['Workflow', '0x0000000000000000000000000000000000000c11', 'middleware/bpm/IWorkflow.abi.json'],
  ['Webhooks', '0x0000000000000000000000000000000000000c12', 'middleware/webhooks/IWebhooks.abi.json'],
  ['Oracle', '0x0000000000000000000000000000000000000c13', 'middleware/oracle/IOracle.abi.json'],
  ['Randomness', '0x0000000000000000000000000000000000000c14', 'middleware/randomness/IRandomness.abi.json'],
  ['Jury', '0x0000000000000000000000000000000000000c15', 'middleware/jury/IJury.abi.json'],
  ['Sponsor', '0x0000000000000000000000000000000000000c16', 'vm/sponsorship/ISponsor.abi.json'],
];
const LIBRARY = ['ArbitratedEscrow', 'AuthenticityCertificates', 'BrandAmbassadors', 'CommunityModeration',
  'DeliveryOracle', 'Groups', 'IdentityGrants', 'JuryAppealCourt', 'KeywordAdAuction', 'LeadsBidding', 'LoanBook',
  'LocalPromotions', 'SponsoredMarketplace', 'SupplyChainSettlement', 'TokenSale', 'ERC20', 'ERC721'];

const native = NATIVE.map(([name, address, path]) => ({ name, address, abi: read(path) }));
const library = LIBRARY.map((name) => {
  const artifact = `contracts/out/${name}.sol/${name}.json`;
  if (!existsSync(join(repo, artifact))) throw new Error(`${artifact} is missing: run \`npx forge build\` in contracts/`);
  return { name, abi: read(artifact).abi };
});
writeFileSync(join(repo, 'explorer/src/abis.json'), JSON.stringify({ native, library }, null, 1) + '\n');

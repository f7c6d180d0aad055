/**
 * Size budgets as a property of the build: every shipped profile's full user-data and Ignition config, its stubs
 * and the agent bundle, built by the real CLI, against the budgets in bench/user-data-sizes.mjs; and the README's
 * size tables, which must be what the build gives now (`npm run bench -- --readme` rewrites them).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';

interface ProfileSizes {
  profile: string;
  /** Undefined where the profile writes no cloud-init user-data (Flatcar). */
  userData?: number;
  ignition: number;
  userDataStub?: number;
  ignitionStub: number;
}
interface AgentSizes {
  minified: number;
  gzip: number;
  base64: number;
}
interface SizesModule {
  FULL_BUDGET: number;
  AGENT_GZIP_BUDGET: number;
  STUB_BUDGET: number;
  userDataSizes(root: string): ProfileSizes[];
  agentSizes(root: string): AgentSizes;
  sizesMarkdown(agent: AgentSizes, rows: ProfileSizes[]): string;
}

const root = path.join(__dirname, '..');
let sizes: SizesModule;
let rows: ProfileSizes[];
let agent: AgentSizes;

test.before(async () => {
  sizes = (await import(pathToFileURL(path.join(root, 'bench', 'user-data-sizes.mjs')).href)) as SizesModule;
  rows = sizes.userDataSizes(root);
  agent = sizes.agentSizes(root);
});

test('every shipped profile is measured, with each kind of file present (no cloud-init on Flatcar)', (t) => {
  t.true(rows.length >= 10, rows.map((r) => r.profile).join(' '));
  for (const row of rows) {
    const present = row.profile === 'flatcar' ? [row.ignition, row.ignitionStub] : [row.userData, row.ignition, row.userDataStub, row.ignitionStub];
    for (const size of present) t.true(Number.isInteger(size) && size! > 1_000, JSON.stringify(row));
  }
  t.deepEqual(rows.filter((row) => row.userData === undefined).map((row) => row.profile), ['flatcar']);
});

test('every full user-data and Ignition config fits the full budget; every stub fits Alibaba Cloud', (t) => {
  const over = rows.flatMap((row) => [
    ...((row.userData ?? 0) > sizes.FULL_BUDGET ? [`${row.profile} user-data ${row.userData}`] : []),
    ...(row.ignition > sizes.FULL_BUDGET ? [`${row.profile} Ignition ${row.ignition}`] : []),
    ...((row.userDataStub ?? 0) > sizes.STUB_BUDGET ? [`${row.profile} user-data stub ${row.userDataStub}`] : []),
    ...(row.ignitionStub > sizes.STUB_BUDGET ? [`${row.profile} Ignition stub ${row.ignitionStub}`] : []),
  ]);
  t.deepEqual(over, []);
});

test('the agent bundle, gzipped as user-data carries it, fits its budget', (t) => {
  t.true(agent.gzip <= sizes.AGENT_GZIP_BUDGET, `${agent.gzip} B`);
});

test("the README's size tables are what the build gives now", async (t) => {
  const { readmeBlock } = (await import(pathToFileURL(path.join(root, 'bench', 'readme-blocks.mjs')).href)) as { readmeBlock(readme: string, name: string): string | undefined };
  const block = readmeBlock(readFileSync(path.join(root, 'README.md'), 'utf8'), 'sizes');
  t.truthy(block, 'README.md has a sizes block');
  t.is(block, sizes.sizesMarkdown(agent, rows), 'run `npm run bench -- --readme` and commit README.md');
});

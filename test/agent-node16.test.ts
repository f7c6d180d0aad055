/**
 * The agent must run on Node.js 16: CentOS 7's glibc 2.17 runs no official Node.js newer than that. This runs
 * the bundle under the very runtime the profiles pin (fetched and sha256-checked by
 * scripts/fetch-node-runtime.mjs, which the test command runs first), not merely an esbuild target setting.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../contract/agent-config';
import { REPO_ROOT } from './helpers/agent-build';
import { FakeMachine, fixture, profileConfig } from './helpers/agent-machine';
import { planAgent } from '../agent/plan';
import { runScenario } from './helpers/agent-scenario';

const NODE16 = path.join(REPO_ROOT, '.cache', 'node-16.20.2', 'bin', 'node');

test.before(() => {
  if (!existsSync(NODE16)) throw new Error(`${NODE16} is missing: run "node scripts/fetch-node-runtime.mjs" (npm test does)`);
});

test('the pinned runtime really is Node.js 16', (t) => {
  t.is(spawnSync(NODE16, ['--version'], { encoding: 'utf8' }).stdout.trim(), 'v16.20.2');
});

test('under Node 16 the agent runs the whole centos-gpu lab on a GPU host, then changes nothing', async (t) => {
  const scenario = await runScenario({ config: profileConfig('centos-gpu'), node: fixture<NodeConfig>('node-control-plane'), gpu: true, nodeBinary: NODE16 });
  t.teardown(() => scenario.machine.dispose());
  t.is(scenario.first.code, 0, scenario.first.stdout + scenario.first.stderr);
  t.regex(scenario.first.stdout, /kubeadm-init/);
  t.true(scenario.changes.some((argv) => argv[0] === 'kubeadm' && argv[1] === 'init'));
  t.is(scenario.second.code, 0, scenario.second.stderr);
  t.deepEqual(scenario.changesOnSecondRun, []);
});

test('under Node 16 the bundle plans exactly what the builder plans', async (t) => {
  const config = profileConfig('ubuntu-gpu');
  const node = fixture<NodeConfig>('node-control-plane');
  const machine = await FakeMachine.create({ config, node, gpu: true, nodeBinary: NODE16 });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['plan', '--json', '--gpu', 'present']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(JSON.parse(run.stdout), await planAgent(config, node, { gpu: true }));
});

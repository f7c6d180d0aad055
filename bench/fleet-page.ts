/**
 * The fleet page's weight and how fast Chromium renders it (`npm run bench:fleet-page`):
 *   - bytes: the page of an empty fleet (its own HTML, style and script: what every load costs), of 50 nodes and of
 *     1,000, each node with 24 steps; the target is a page of its own under 100 KB
 *   - render: headless Chromium at 1366×768 loads /fleet from a real EndpointServer on loopback, and the page itself
 *     says when its first frame after the load event was ready (performance.now() in the requestAnimationFrame
 *     after `load`, from navigation start: transfer, parse, style, layout of table and SVG). The 1,000-node page
 *     against a target of 1 s; the empty page, in the same run, is the baseline the ratio is to.
 * The fleet is synthetic (its registry answers a made-up view): the bench measures the page, not the store.
 */
import { rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { FleetNode, FleetStep, FleetView } from '../contract/endpoint-api';
import { renderFleetPage } from '../endpoint/fleet-page';
import { silentLog } from '../endpoint/log';
import { issueServerIdentity, loadOrCreateCa } from '../endpoint/pki';
import { Registry } from '../endpoint/registry';
import { EndpointServer } from '../endpoint/server';
import { FileStore } from '../endpoint/store/file-store';
import { Browser, spkiHash } from '../test/helpers/chromium';
import { tempDir } from '../test/helpers/cli';
import { machineLine } from './machine.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGE_BUDGET_BYTES = 100 * 1024;
const RENDER_TARGET_MS = 1000;
const BAKE = ['firewall-off', 'selinux', 'swap-off', 'kernel-modules', 'sysctls', 'apt-repos', 'remove-stale-runtime', 'install-runtime', 'kernel-headers', 'install-gpu-packages', 'containerd-config', 'install-kubernetes', 'enable-services', 'pull-images', 'clean'];
const BOOT = ['gpu-driver', 'gpu-switch', 'kubeadm-join', 'kubeconfig', 'refresh-timer', 'leave-unit', 'gpu-device-plugin', 'node-registered', 'gpu-allocatable'];

/** A fleet of `count` nodes in four pools, each with every step reported; a few failed, a few still running. */
function syntheticFleet(count: number, now: number): FleetView {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const nodes: FleetNode[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = `node-${String(i).padStart(4, '0')}`;
    const failedAt = i % 37 === 5 ? 3 : -1;
    const running = i % 11 === 3;
    let at = now - 3_600_000 - random() * 600_000;
    const steps: FleetStep[] = [];
    for (const [phase, list] of [['bake', BAKE], ['boot', BOOT]] as const) {
      if (phase === 'boot') at += 1_800_000;
      for (const [n, step] of list.entries()) {
        const durationMs = Math.round(200 + random() * (step === 'install-runtime' || step === 'kubeadm-join' ? 40_000 : 6_000));
        at += durationMs;
        const failed = phase === 'boot' && n === failedAt;
        const last = phase === 'boot' && running && n === list.length - 1;
        steps.push({ step, phase, status: last ? 'started' : failed ? 'failed' : 'done', at: new Date(at).toISOString(), ...(last ? { receivedAt: new Date(at).toISOString() } : { durationMs }), ...(failed ? { error: 'kubeadm join: timed out waiting for the API server' } : {}) });
        if (failed) break;
      }
    }
    const failed = steps.some((s) => s.status === 'failed');
    if (!failed && !running) steps.push({ step: 'complete', phase: 'boot', status: 'done', at: new Date(at).toISOString(), durationMs: 90_000 + Math.round(random() * 60_000) });
    const last = steps[steps.length - 1] as FleetStep;
    nodes.push({
      node: name,
      pool: ['gpu-a', 'gpu-b', 'cpu', 'edge'][i % 4] as string,
      role: i % 50 === 0 ? 'control-plane' : 'worker',
      profile: i % 4 < 2 ? 'ubuntu-gpu' : 'ubuntu',
      gpu: i % 4 < 2,
      enrolledAt: new Date(now - 7_200_000).toISOString(),
      step: last.step,
      status: last.status,
      lastReportAt: last.at,
      phases: [],
      steps,
      ...(i % 4 < 2 && !failed && !running ? { timeToGpu: [{ step: 'gpu-allocatable' as const, seconds: 60 + Math.round(random() * 50) }] } : {}),
      ...(failed ? { error: 'kubeadm join: timed out waiting for the API server' } : {}),
      ready: !failed && !running,
      state: failed ? 'failed' : running ? 'in-progress' : 'ready',
    });
  }
  return { generatedAt: new Date(now).toISOString(), nodes };
}

/** A registry whose fleet is the given view: the endpoint's page route, with a store that is not measured. */
class FixedFleet extends Registry {
  view: FleetView = { generatedAt: new Date().toISOString(), nodes: [] };
  override async fleet(): Promise<FleetView> {
    return this.view;
  }
}

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] as number;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const now = Date.now();
  const fleets = { empty: { generatedAt: new Date(now).toISOString(), nodes: [] }, 50: syntheticFleet(50, now), 1000: syntheticFleet(1000, now) } as Record<string, FleetView>;
  console.log(`## Fleet page\n\n${machineLine()}\n`);
  console.log('| page | bytes | gzip | server render (median) |\n|---|---|---|---|');
  for (const name of ['empty', '50', '1000']) {
    const view = fleets[name] as FleetView;
    const times: number[] = [];
    let page = '';
    for (let i = 0; i < RUNS; i += 1) {
      const started = process.hrtime.bigint();
      page = renderFleetPage(view, { refreshSeconds: 5 });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const bytes = Buffer.byteLength(page);
    const verdict = name === 'empty' ? ` (${bytes <= PAGE_BUDGET_BYTES ? '≤' : 'over'} the 100 KB budget)` : '';
    console.log(`| ${name === 'empty' ? 'empty fleet: the page itself' : `${name} nodes`} | ${kb(bytes)}${verdict} | ${kb(gzipSync(page).length)} | ${median(times).toFixed(1)} ms |`);
  }

  const dir = tempDir('labimg-bench-fleet-');
  const registry = new FixedFleet(new FileStore(dir));
  const { ca } = await loadOrCreateCa(registry.store);
  const identity = issueServerIdentity(ca, ['127.0.0.1']);
  const server = new EndpointServer({ registry, identity, log: silentLog });
  const { port } = await server.listen(0, '127.0.0.1');
  const browser = Browser.launch({ trustSpki: [spkiHash(identity.certChainPem)], width: 1366, height: 768 });
  try {
    const page = await browser.newPage(1366, 768);
    const firstFrame = async (view: FleetView): Promise<number> => {
      registry.view = view;
      await page.goto(`https://127.0.0.1:${port}/fleet`);
      return page.evaluate<number>(`new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now()))))`);
    };
    // A first load of each warms the browser's caches of fonts and code, as an open tab would have them.
    await firstFrame(fleets.empty as FleetView);
    await firstFrame(fleets[1000] as FleetView);
    const names = ['empty', '50', '1000'];
    const samples: Record<string, number[]> = { empty: [], 50: [], 1000: [] };
    for (let i = 0; i < RUNS; i += 1) for (const name of names) samples[name]?.push(await firstFrame(fleets[name] as FleetView));
    const base = median(samples.empty as number[]);
    console.log('\n| page in Chromium, 1366×768 | first frame after load (median of ' + RUNS + ') | ratio to the empty page | target |\n|---|---|---|---|');
    for (const name of names) {
      const ms = median(samples[name] as number[]);
      const target = name === '1000' ? `≤ ${RENDER_TARGET_MS} ms${ms <= RENDER_TARGET_MS ? '' : ' (missed)'}` : '';
      console.log(`| ${name === 'empty' ? 'empty fleet' : `${name} nodes`} | ${ms.toFixed(0)} ms | ${(ms / base).toFixed(2)}× | ${target} |`);
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

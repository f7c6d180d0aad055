/**
 * The fleet page in a real browser: Debian's Chromium, headless, loads it from a running endpoint over HTTPS
 * and the DOM it renders shows every node with its state.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { LEAVING_STEP, type PhaseReport } from '../contract/agent-config';
import { silentLog } from '../endpoint/log';
import { issueServerIdentity, loadOrCreateCa } from '../endpoint/pki';
import { Registry } from '../endpoint/registry';
import { EndpointServer } from '../endpoint/server';
import { FileStore } from '../endpoint/store/file-store';
import { tempDir } from './helpers/cli';

const CHROMIUM = '/usr/bin/chromium';

function report(node: string, step: string, status: PhaseReport['status'], extra: Partial<PhaseReport> = {}): PhaseReport {
  return { id: crypto.randomUUID(), node, profile: 'ubuntu-gpu', role: 'worker', phase: 'boot', step, status, at: new Date().toISOString(), gpu: false, durationMs: 1200, ...extra };
}

test('headless Chromium renders the fleet page with every node and its state', async (t) => {
  const dir = tempDir('labimg-fleet-');
  const registry = new Registry(new FileStore(dir));
  const { ca } = await loadOrCreateCa(registry.store);
  const server = new EndpointServer({ registry, identity: issueServerIdentity(ca, ['127.0.0.1']), log: silentLog });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    await registry.createPool('lab', 'ubuntu-gpu');
    const enroll = (name: string, role: 'control-plane' | 'worker', gpu: boolean) =>
      registry.enroll({ name, pool: 'lab', role, profile: 'ubuntu-gpu', gpu, credentialSha256: '0'.repeat(64) });
    await enroll('cp-1', 'control-plane', false);
    await enroll('gpu-worker-1', 'worker', true);
    await enroll('worker-2', 'worker', false);
    await enroll('worker-3', 'worker', false);
    await registry.addReport('cp-1', report('cp-1', 'complete', 'done', { role: 'control-plane' }));
    // Time to GPU, part way: the driver loaded 41.2 s and the runtime switched 43.5 s after the kernel booted.
    await registry.addReport('gpu-worker-1', report('gpu-worker-1', 'gpu-driver', 'done', { gpu: true, sinceBootMs: 41_200 }));
    await registry.addReport('gpu-worker-1', report('gpu-worker-1', 'gpu-switch', 'done', { gpu: true, sinceBootMs: 43_500 }));
    await registry.addReport('gpu-worker-1', report('gpu-worker-1', 'kubeadm-join', 'started', { gpu: true, sinceBootMs: 44_000 }));
    await registry.addReport('worker-2', report('worker-2', 'kubeadm-join', 'failed', { error: 'kubeadm join: <timeout> waiting for the API server' }));
    // worker-3 failed too, and then its machine was powered off on purpose: it left, it is not failed.
    await registry.addReport('worker-3', report('worker-3', 'kubeadm-join', 'failed', { error: 'kubeadm join: refused', at: new Date(Date.now() - 60_000).toISOString() }));
    await registry.addReport('worker-3', report('worker-3', LEAVING_STEP, 'done'));

    const { stdout } = await promisify(execFile)(
      CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', '--ignore-certificate-errors', '--dump-dom', `https://127.0.0.1:${port}/fleet`],
      { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
    );
    const rows = [...stdout.matchAll(/<tr[^>]*data-node="([^"]+)"[^>]*data-status="([^"]+)"/g)].map((m) => `${m[1]}=${m[2]}`);
    t.deepEqual(rows, ['cp-1=ready', 'gpu-worker-1=in-progress', 'worker-2=failed', 'worker-3=departed'], 'the departed node last');
    t.true(stdout.includes('kubeadm join: &lt;timeout&gt; waiting for the API server'), 'the error is shown, escaped');
    t.regex(stdout, /4 nodes: 1 ready, 1 failed, 1 in progress, 0 enrolled without a report, 1 departed\. Pools: lab 3 \(\+1 departed\)\./);
    // The departed node sits in a table of its own under a "Departed" heading, its row muted.
    t.regex(stdout, /<h2>Departed<\/h2>[\s\S]*<table id="departed">[\s\S]*data-node="worker-3"/);
    t.false(rowOf(stdout, 'worker-3').includes('kubeadm join: refused'), 'an error from before it left is not shown');
    t.true(stdout.includes('tr.departed td{color:var(--muted)}'));
    // The time-to-GPU cell as Chromium rendered it: the GPU node's milestones with their tooltips, and nothing
    // for the nodes without a GPU.
    t.is(timeToGpuCell(stdout, 'gpu-worker-1'), 'driver 41.2 s · runtime 43.5 s');
    t.regex(rowOf(stdout, 'gpu-worker-1'), /<span data-milestone="gpu-driver" title="driver loaded 41\.2 s after boot">/);
    t.regex(rowOf(stdout, 'gpu-worker-1'), /<span data-milestone="gpu-switch" title="runtime switched 43\.5 s after boot">/);
    t.is(timeToGpuCell(stdout, 'cp-1'), '');
    t.is(timeToGpuCell(stdout, 'worker-2'), '');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The row of `node` in the DOM Chromium dumped. */
function rowOf(dom: string, node: string): string {
  return new RegExp(`<tr[^>]*data-node="${node}"[^>]*>([\\s\\S]*?)</tr>`).exec(dom)?.[1] ?? '';
}

/** The text of the row's cell under the "Time to GPU" header, found by the header's position. */
function timeToGpuCell(dom: string, node: string): string {
  // The nodes' table, not the slowest steps' one above it.
  const table = /<table id="nodes">([\s\S]*?)<\/table>/.exec(dom)?.[1] ?? '';
  const headers = [...(/<thead>([\s\S]*?)<\/thead>/.exec(table)?.[1] ?? '').matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
  const column = headers.indexOf('Time to GPU');
  if (column < 0) throw new Error(`no "Time to GPU" header among ${JSON.stringify(headers)}`);
  const cells = [...rowOf(dom, node).matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1] ?? '');
  return (cells[column] ?? '').replace(/<[^>]+>/g, '').trim();
}

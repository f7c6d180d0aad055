/**
 * The fleet page as an operator sees it: headless Chromium, at a 1366×768 laptop's size, against a real `labimg
 * serve` fed by real agent processes (two control planes that run their whole boot, two workers that bake, one
 * whose bake fails). The timeline's bars are checked against the times the agents reported, the histogram's counts
 * against their run durations, the node page against the node's stored reports, and a report made while the page
 * is open must show up in it without a reload. A screenshot of each page is written under out/screenshots (or
 * $LABIMG_SCREENSHOT_DIR) and named in the test's log.
 */
import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { NodeConfig, PhaseReport } from '../contract/agent-config';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { Registry } from '../endpoint/registry';
import { FileStore } from '../endpoint/store/file-store';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { Browser, spkiHash, type Page } from './helpers/chromium';
import { repoRoot, tempDir } from './helpers/cli';
import { createPool, createPoolToken, startServe, type RunningServe } from './helpers/endpoint';

const WIDTH = 1366;
const HEIGHT = 768;
const SCREENSHOTS = process.env.LABIMG_SCREENSHOT_DIR ?? path.join(repoRoot, 'out/screenshots');

type StoredReport = PhaseReport & { receivedAt: string };

interface Agent {
  name: string;
  machine: FakeMachine;
}

async function startAgent(serve: RunningServe, pool: string, role: 'control-plane' | 'worker', name: string, token: string, options: { downloads?: Record<string, string> } = {}): Promise<Agent> {
  const node: NodeConfig = {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role,
    pool,
    nodeName: name,
    ...(role === 'control-plane' ? { advertiseAddress: '10.0.0.10' } : {}),
    endpoint: { url: serve.url, caFingerprint: serve.caFingerprint },
  };
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token }, ...options });
  return { name, machine };
}

/** The server's own certificate, as Chromium will be shown it, so that the browser trusts exactly that key. */
function serverCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate().raw;
      socket.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    });
    socket.on('error', reject);
  });
}

/** The latest report of each step, as the node made them: what the timeline draws. */
function latestByStep(reports: StoredReport[]): Map<string, StoredReport> {
  const latest = new Map<string, StoredReport>();
  for (const r of [...reports].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt))) latest.set(r.step, r);
  return latest;
}

interface DrawnBar {
  node: string;
  step: string;
  phase: string;
  status: string;
  x: number;
  width: number;
}

/**
 * The bars as Chromium has them: each rectangle of each row's paths (read from the parsed path data), with the
 * step, phase and status its row's data-bars lists at that place and width.
 */
const READ_BARS = `[...document.querySelectorAll('svg.timeline g[data-node]')].flatMap((g) => {
  const listed = g.dataset.bars.split(';').map((b) => b.split(','));
  return [...g.querySelectorAll('path')].flatMap((path) => [...path.getAttribute('d').matchAll(/M([\\d.]+) [\\d.]+h([\\d.]+)v/g)].map((m) => {
    const x = Number(m[1]), width = Number(m[2]);
    const f = listed.find((f) => Number(f[3]) === x && Number(f[4]) === width && f[2] === path.getAttribute('class')) || [];
    return { node: g.dataset.node, step: f[0], phase: f[1], status: path.getAttribute('class'), x, width };
  }));
})`;

test('Chromium shows the timeline, histogram and node page of a fleet that real agents report to, and a new report without a reload', async (t) => {
  // Six agent processes, a browser and an endpoint on a shared 2-core machine: 30 s unloaded, more under load.
  t.timeout(300_000);
  const data = tempDir('labimg-fleet-browser-');
  const serve = await startServe({ data });
  const agents: Agent[] = [];
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close();
    for (const agent of agents) agent.machine.dispose();
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  });

  const workerToken = createPool({ data }, 'lab', 'ubuntu');
  createPool({ data }, 'edge', 'ubuntu');
  const labCp = createPoolToken({ data }, 'lab', ['--role', 'control-plane']);
  const edgeCp = createPoolToken({ data }, 'edge', ['--role', 'control-plane']);
  agents.push(
    await startAgent(serve, 'lab', 'control-plane', 'cp-lab', labCp),
    await startAgent(serve, 'edge', 'control-plane', 'cp-edge', edgeCp),
    await startAgent(serve, 'lab', 'worker', 'w-1', workerToken),
    await startAgent(serve, 'lab', 'worker', 'w-2', workerToken),
    // Nothing published for its downloads: its bake fails at the first one, with curl's message.
    await startAgent(serve, 'lab', 'worker', 'w-bad', workerToken, { downloads: {} }),
  );
  const runs = await Promise.all(agents.map((a) => a.machine.runAgent(a.name.startsWith('cp-') ? ['run'] : ['run', '--phase', 'bake'])));
  t.deepEqual(runs.map((r) => r.code), [0, 0, 0, 0, 1], runs.map((r) => r.stdout.slice(-400)).join('\n---\n'));

  const registry = new Registry(new FileStore(data));
  const reportsOf = async (node: string) => (await registry.reports(node)) as StoredReport[];

  browser = Browser.launch({ trustSpki: [spkiHash(await serverCertificate(serve.port))], width: WIDTH, height: HEIGHT });
  const page = await browser.newPage(WIDTH, HEIGHT);
  await page.goto(`${serve.url}/fleet`);
  t.is(await page.waitFor<string>(`document.documentElement.dataset.live`, 30_000), 'on', 'the page follows the event stream');

  // ── the timeline's bars against the times the agents reported ──
  const bars = await page.evaluate<DrawnBar[]>(READ_BARS);
  const scale = await page.evaluate<Record<string, number>>(`(() => { const d = document.querySelector('svg.timeline').dataset;
    return { bakeX0: Number(d.bakeX0), bakeMs: Number(d.bakeMsPerUnit), bootX0: Number(d.bootX0), bootMs: Number(d.bootMsPerUnit) }; })()`);
  t.deepEqual([...new Set(bars.map((b) => b.node))].sort(), ['cp-edge', 'cp-lab', 'w-1', 'w-2', 'w-bad']);
  let checked = 0;
  for (const node of ['cp-lab', 'w-1', 'w-bad']) {
    const latest = latestByStep(await reportsOf(node));
    for (const phase of ['bake', 'boot'] as const) {
      const steps = [...latest.values()].filter((r) => r.phase === phase && r.step !== RUN_COMPLETE_STEP && r.durationMs !== undefined && r.status !== 'started');
      if (steps.length === 0) continue;
      const origin = Math.min(...steps.map((r) => Date.parse(r.at) - (r.durationMs as number)));
      const x0 = (phase === 'bake' ? scale.bakeX0 : scale.bootX0) as number;
      const msPerUnit = (phase === 'bake' ? scale.bakeMs : scale.bootMs) as number;
      for (const report of steps) {
        const bar = bars.find((b) => b.node === node && b.step === report.step);
        if (!bar) {
          t.fail(`no bar for ${node} ${report.step}`);
          continue;
        }
        t.is(bar.status, report.status, `${node} ${report.step}`);
        t.is(bar.phase, phase);
        // Drawn to a tenth of a unit, and a step shorter than a unit is drawn one unit wide.
        const tolerance = msPerUnit * 0.15 + 1;
        const start = Date.parse(report.at) - (report.durationMs as number) - origin;
        t.true(Math.abs((bar.x - x0) * msPerUnit - start) <= tolerance, `${node} ${report.step} starts ${start} ms into ${phase}; drawn at ${(bar.x - x0) * msPerUnit}`);
        const drawn = bar.width * msPerUnit;
        t.true(Math.abs(drawn - (report.durationMs as number)) <= tolerance || (bar.width === 1 && (report.durationMs as number) <= msPerUnit), `${node} ${report.step} took ${report.durationMs} ms; drawn ${drawn}`);
        checked += 1;
      }
    }
  }
  t.true(checked > 20, `${checked} bars checked`);
  const failedBar = bars.find((b) => b.node === 'w-bad' && b.status === 'failed');
  t.truthy(failedBar);

  // ── hovering the failed bar shows its step, status and times in the page's tooltip ──
  await page.evaluate(`document.querySelector('svg.timeline g[data-node="w-bad"]').scrollIntoView({ block: 'center' })`);
  const inView = await page.evaluate<{ x: number; y: number }>(`(() => {
    const g = document.querySelector('svg.timeline g[data-node="w-bad"]'), svg = g.ownerSVGElement;
    const box = g.querySelector('path.failed').getBBox(), p = svg.createSVGPoint();
    p.x = ${(failedBar?.x ?? 0) + (failedBar?.width ?? 0) / 2}; p.y = box.y + box.height / 2;
    const at = p.matrixTransform(svg.getScreenCTM()); return { x: at.x, y: at.y }; })()`);
  await browser.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: inView.x, y: inView.y }, page.sessionId);
  const tip = await page.waitFor<string>(`(() => { const t = document.querySelector('.tip'); return t && !t.hidden ? t.textContent : ''; })()`, 10_000);
  t.regex(tip, new RegExp(`^w-bad · bake · ${failedBar?.step ?? '?'} failed: \\+`), tip);

  // ── the histogram of time to final against the two runs that completed ──
  const finals = await Promise.all(['cp-lab', 'cp-edge'].map(async (n) => (await reportsOf(n)).find((r) => r.step === RUN_COMPLETE_STEP)?.durationMs as number));
  const bins = await page.evaluate<Array<{ from: number; to: number; count: number }>>(
    `[...document.querySelectorAll('#time-to-final g.bin')].map((g) => ({ from: Number(g.dataset.fromMs), to: Number(g.dataset.toMs), count: Number(g.querySelector('text.count').textContent) }))`,
  );
  t.true(bins.length > 0);
  t.deepEqual(
    bins.map((b) => b.count),
    bins.map((b) => finals.filter((ms) => ms >= b.from && (ms < b.to || b === bins[bins.length - 1])).length),
    `time to final of the control planes: ${finals.join(', ')} ms`,
  );
  const counts = await page.evaluate<Record<string, string>>(`Object.fromEntries([...document.querySelectorAll('.counts li')].map((li) => [li.dataset.state, li.querySelector('b').textContent]))`);
  t.deepEqual(counts, { ready: '2', failed: '1', 'in-progress': '2', 'enrolled-no-report': '0', departed: '0' });
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot(path.join(SCREENSHOTS, 'fleet-page.png'));
  // The same page for a reader whose system asks for dark: dark background, light text, bars still coloured.
  await browser.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value: 'dark' }] }, page.sessionId);
  const dark = await page.evaluate<string[]>(`[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]`);
  t.deepEqual(dark, ['rgb(22, 24, 27)', 'rgb(230, 230, 230)']);
  await page.screenshot(path.join(SCREENSHOTS, 'fleet-page-dark.png'));
  await browser.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value: 'light' }] }, page.sessionId);

  // ── the node page: every report, the failure's message, its enrollment, the way back ──
  await page.goto(`${serve.url}/fleet/nodes/w-bad`);
  const stored = await reportsOf('w-bad');
  const rows = await page.evaluate<string[]>(`[...document.querySelectorAll('#reports tbody tr')].map((tr) => tr.dataset.step + ' ' + tr.dataset.status)`);
  t.deepEqual(rows, stored.map((r) => `${r.step} ${r.status}`));
  const failure = stored.find((r) => r.status === 'failed');
  t.truthy(failure?.error);
  t.is(await page.evaluate<string>(`document.querySelector('#reports tr[data-status="failed"] pre').textContent`), failure?.error ?? "");
  t.deepEqual(await page.evaluate<string[]>(`[...document.querySelectorAll('#audit tbody tr')].map((tr) => tr.dataset.action)`), ['node-enrolled']);
  t.is(await page.evaluate<string>(`document.querySelector('a[href="/fleet"]').textContent`), '← fleet');
  const html = await page.evaluate<string>('document.documentElement.outerHTML');
  t.false(html.includes(workerToken.split('.')[1] ?? workerToken), 'no enrollment token secret on the page');
  await page.goto(`${serve.url}/fleet/nodes/cp-lab`);
  await page.screenshot(path.join(SCREENSHOTS, 'node-page.png'));

  // ── a report made while the fleet page is open appears in it without a reload ──
  await page.goto(`${serve.url}/fleet`);
  t.is(await page.waitFor<string>(`document.documentElement.dataset.live`, 30_000), 'on');
  await page.evaluate(`window.sameDocument = 'yes'`);
  const late = await startAgent(serve, 'lab', 'worker', 'w-late', workerToken);
  agents.push(late);
  const lateRun = late.machine.runAgent(['run', '--phase', 'bake']);
  const appeared = await page.waitFor<boolean>(`!!document.querySelector('svg.timeline g[data-node="w-late"] path') && window.sameDocument === 'yes'`, 90_000);
  t.true(appeared, 'the new node and its first bar, in the same document');
  t.is((await lateRun).code, 0);
  t.true(await page.waitFor<boolean>(`!!document.querySelector('#nodes tr[data-node="w-late"]') && window.sameDocument === 'yes'`, 30_000), 'and its row in the table');
  t.log(`screenshots at ${WIDTH}×${HEIGHT}: ${['fleet-page.png', 'fleet-page-dark.png', 'node-page.png'].map((f) => path.join(SCREENSHOTS, f)).join(', ')}`);
});

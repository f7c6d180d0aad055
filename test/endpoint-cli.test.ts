/** `labimg pool …`, `nodes` and `audit` as a user runs them, on a real data directory. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { LEAVING_STEP, type PhaseReport } from '../contract/agent-config';
import type { FleetView } from '../contract/endpoint-api';
import { labimg, tempDir } from './helpers/cli';
import { createPool, freePort, startServe } from './helpers/endpoint';
import { reportBody, send } from './helpers/https-client';

test('pool create prints the token once, writes the pool user-data 0600, and the rest of the pool commands manage it', (t) => {
  const dir = tempDir('labimg-pool-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const userData = path.join(dir, 'lab-worker.yaml');

  const created = labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--ttl', '24h', '--endpoint', 'https://10.0.0.5:8443', '--user-data', userData]);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/, 'stdout is the token alone');
  const fingerprint = /endpoint CA fingerprint (sha256:[a-f0-9]{64})/.exec(created.stderr)?.[1];
  t.truthy(fingerprint);
  t.false(created.stderr.includes(token), 'the token is not repeated on stderr');
  t.is(statSync(userData).mode & 0o777, 0o600);
  const files = (load(readFileSync(userData, 'utf8')) as { write_files: Array<{ path: string; content: string; permissions: string }> }).write_files;
  const secrets = files.find((f) => f.path === '/etc/labimg/secrets.json');
  t.is(secrets?.permissions, '0600');
  t.deepEqual(JSON.parse(secrets?.content ?? '{}'), { enrollmentToken: token });
  const node = JSON.parse(files.find((f) => f.path === '/etc/labimg/node.json')?.content ?? '{}');
  t.like(node, { role: 'worker', pool: 'lab', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: fingerprint } });

  const [id] = token.split('.');
  const listed = labimg(['pool', 'list', '--data', data]);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`lab  profile ubuntu[\\s\\S]*token ${id}  valid until `));
  t.false(listed.stdout.includes(token.split('.')[1] as string), 'no secret in the listing');
  t.false(JSON.stringify(JSON.parse(labimg(['pool', 'list', '--data', data, '--json']).stdout)).includes('secretSha256'));

  t.is(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data]).stderr.trim(), 'labimg: pool "lab" already exists');
  const revoked = labimg(['pool', 'token-revoke', id as string, '--data', data]);
  t.is(revoked.stdout, `revoked enrollment token ${id} of pool lab\n`);
  t.regex(labimg(['pool', 'list', '--data', data]).stdout, new RegExp(`token ${id}  revoked `));

  const second = labimg(['pool', 'token-create', 'lab', '--data', data, '--ttl', '30m']);
  t.is(second.code, 0, second.stderr);
  t.not(second.stdout.trim(), token);

  t.is(labimg(['nodes', '--data', data]).stdout, 'no nodes have enrolled yet\n');
  const audit = labimg(['audit', '--data', data]).stdout;
  t.deepEqual(
    audit.trim().split('\n').map((line) => line.split(/\s+/)[1]),
    ['pool-created', 'token-created', 'token-revoked', 'token-created'],
  );
  t.false(audit.includes(token));
});

test('a bad profile, pool name or duration is refused before anything is stored', (t) => {
  const dir = tempDir('labimg-pool-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const badProfile = labimg(['pool', 'create', 'lab', '--profile', 'ubunto', '--data', data]);
  t.is(badProfile.code, 1);
  t.regex(badProfile.stderr, /ubuntu/, 'suggests the closest profile');
  t.is(labimg(['pool', 'create', 'Lab_1', '--profile', 'ubuntu', '--data', data]).stderr.trim(), 'labimg: pool name "Lab_1": expected a DNS label (lowercase letters, digits and "-", at most 63)');
  t.regex(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--ttl', '1y']).stderr, /--ttl: expected a duration such as 30m, 24h or 7d, got "1y"/);
  t.regex(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--user-data', 'x.yaml']).stderr, /--user-data needs --endpoint/);
  t.is(labimg(['pool', 'list', '--data', data]).stdout, 'no pools yet; `labimg pool create NAME --profile P` makes one\n');
});

test('a second serve on a data directory in use is refused in one line that names the holder, with no stack trace', async (t) => {
  const dir = tempDir('labimg-busy-');
  const first = await startServe({ data: dir });
  t.teardown(async () => {
    await first.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const second = labimg(['serve', '--listen', `127.0.0.1:${await freePort()}`, '--data', dir]);
  t.is(second.code, 1);
  t.is(second.stderr, `labimg: ${dir} is in use by another labimg serve (pid ${first.pid}); stop it, or give this one its own --data\n`);
});

test('revoking a token that does not exist names the command that lists tokens, and that command exists', (t) => {
  const dir = tempDir('labimg-revoke-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const revoked = labimg(['pool', 'token-revoke', 'abcd1234', '--data', dir]);
  t.is(revoked.code, 1);
  const named = /`labimg (pool [a-z-]+)` lists them/.exec(revoked.stderr)?.[1];
  t.is(named, 'pool list', revoked.stderr);
  t.false(revoked.stderr.includes('    at '), 'no stack trace');
  t.is(labimg([...(named as string).split(' '), '--data', dir]).code, 0);
});

test('nodes that left: `labimg nodes` counts them apart and lists them with --departed, --json, /v1/fleet and /metrics carry the state', async (t) => {
  const data = tempDir('labimg-departed-');
  const token = createPool({ data }, 'lab', 'ubuntu');
  const serve = await startServe({ data });
  t.teardown(async () => {
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  });
  const credentials = new Map<string, string>();
  for (const node of ['w-1', 'w-2', 'w-3', 'w-4']) {
    const answer = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: { node, role: 'worker', profile: 'ubuntu', gpu: false } });
    t.is(answer.status, 200, answer.text);
    credentials.set(node, (answer.json as { credential: string }).credential);
  }
  // The nodes' clocks: each report `minutesAgo` minutes before now, so the table's ages read in whole minutes.
  const start = Date.now();
  const post = async (node: string, step: string, status: PhaseReport['status'], minutesAgo: number) => {
    const at = new Date(start - minutesAgo * 60_000).toISOString();
    const answer = await send(serve.port, { method: 'POST', path: `/v1/nodes/${node}/reports`, token: credentials.get(node), json: reportBody(node, { step, status, at }) });
    t.is(answer.status, 200, answer.text);
  };
  // w-1 was ready and was scaled in 10 minutes ago; w-2 failed to join and was powered off 20 minutes ago;
  // w-3 is ready; w-4 left 30 minutes ago and was started again: its new run is under way.
  await post('w-1', 'complete', 'done', 40);
  await post('w-1', LEAVING_STEP, 'done', 10);
  await post('w-2', 'kubeadm-join', 'failed', 25);
  await post('w-2', LEAVING_STEP, 'done', 20);
  await post('w-3', 'complete', 'done', 5);
  await post('w-4', 'complete', 'done', 50);
  await post('w-4', LEAVING_STEP, 'done', 30);
  await post('w-4', 'kubelet-config', 'started', 2);

  const summary = '4 nodes: 1 ready, 0 failed, 1 in progress, 0 enrolled without a report, 2 departed. Pools: lab 2 (+2 departed).';
  const table = labimg(['nodes', '--data', data]);
  t.is(table.code, 0, table.stderr);
  t.deepEqual(columnsOf(table.stdout, ['PHASE/STEP', 'STATUS', 'LAST-REPORT']), {
    'w-3': ['complete done', 'ready', '5m ago'],
    'w-4': ['kubelet-config started', 'in-progress', '2m ago'],
  });
  t.true(table.stdout.endsWith(`\n\n${summary}\n2 departed nodes are not listed; \`labimg nodes --departed\` lists them.\n`), table.stdout);

  const all = labimg(['nodes', '--data', data, '--departed']);
  t.is(all.code, 0, all.stderr);
  const rows = columnsOf(all.stdout, ['PHASE/STEP', 'STATUS', 'LAST-REPORT']);
  t.deepEqual(rows, {
    'w-3': ['complete done', 'ready', '5m ago'],
    'w-4': ['kubelet-config started', 'in-progress', '2m ago'],
    'w-1': ['leaving done', 'departed', '10m ago'],
    'w-2': ['leaving done', 'departed', '20m ago'],
  });
  t.deepEqual(Object.keys(rows), ['w-3', 'w-4', 'w-1', 'w-2'], 'the departed after the others, the latest to leave first');
  t.true(all.stdout.endsWith(`\n\n${summary}\n`), all.stdout);

  const at = (minutesAgo: number) => new Date(start - minutesAgo * 60_000).toISOString();
  const expected = {
    'w-1': { state: 'departed', ready: false, departedAt: at(10) },
    'w-2': { state: 'departed', ready: false, departedAt: at(20) },
    'w-3': { state: 'ready', ready: true, departedAt: undefined },
    'w-4': { state: 'in-progress', ready: false, departedAt: undefined },
  };
  const statesOf = (view: FleetView) => Object.fromEntries(view.nodes.map((n) => [n.node, { state: n.state, ready: n.ready, departedAt: n.departedAt }]));
  const json = labimg(['nodes', '--data', data, '--json']);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(statesOf(JSON.parse(json.stdout) as FleetView), expected, '--json carries every node, departed ones included');
  t.deepEqual(statesOf((await send(serve.port, { path: '/v1/fleet' })).json as FleetView), expected);

  const metrics = (await send(serve.port, { path: '/metrics' })).text;
  t.deepEqual(metrics.split('\n').filter((line) => line.startsWith('labimg_nodes{')), [
    'labimg_nodes{pool="lab",role="worker",status="departed"} 2',
    'labimg_nodes{pool="lab",role="worker",status="enrolled-no-report"} 0',
    'labimg_nodes{pool="lab",role="worker",status="failed"} 0',
    'labimg_nodes{pool="lab",role="worker",status="in-progress"} 1',
    'labimg_nodes{pool="lab",role="worker",status="ready"} 1',
  ]);
  t.deepEqual(metrics.split('\n').filter((line) => line.startsWith('labimg_node_last_report_age_seconds{')).map((line) => line.split(' ')[0]), [
    'labimg_node_last_report_age_seconds{node="w-3",pool="lab"}',
    'labimg_node_last_report_age_seconds{node="w-4",pool="lab"}',
  ]);
  const checked = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
  t.deepEqual([checked.status, `${checked.stdout}${checked.stderr}`], [0, '']);
  t.regex(serve.output(), /w-1 left pool lab: its machine powered off on purpose/);
});

/** The named columns of `labimg nodes`' table by node, rows in their order: each from its header to the next one. */
function columnsOf(table: string, names: string[]): Record<string, string[]> {
  const [header = '', ...rows] = table.split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index ?? 0 }));
  const spans = names.map((name) => {
    const i = starts.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no ${name} column in ${JSON.stringify(header)}`);
    return [starts[i]?.at, starts[i + 1]?.at] as const;
  });
  const nodeRows = rows.slice(0, rows.indexOf(''));
  return Object.fromEntries(nodeRows.map((row) => [row.split(' ')[0], spans.map(([from, to]) => row.slice(from, to).trim())]));
}

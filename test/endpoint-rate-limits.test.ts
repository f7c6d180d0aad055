/**
 * The failure limit against a real `labimg serve`, everyone behind one address (loopback, as a pool behind one
 * NAT): one node with a wrong token fails until it gets 429, and all the while its neighbours, with the right
 * token and then their own credentials, are served. An attacker who spams a token's id or a node's name with
 * wrong secrets gets 429 for those, and the right secret still passes.
 *
 * The limit is written out as README "Limits" states it: 20 failures a minute, per address and per token id or node.
 */
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import { tempDir } from './helpers/cli';
import { createPool, startServe } from './helpers/endpoint';
import { startEtcd } from './helpers/etcd';
import { enrollBody, errorOf, reportBody, send, type Answer } from './helpers/https-client';

const FAILURES_PER_MINUTE = 20;

/** Another secret of the same token id: the right shape, the wrong secret. */
function wrongSecretOf(token: string): string {
  const [id] = token.split('.');
  return `${id}.${'W'.repeat(43)}`;
}

function limited(t: ExecutionContext, answer: Answer, what: RegExp): void {
  t.is(answer.status, 429, answer.text);
  t.regex(errorOf(answer), what);
  const wait = Number(answer.headers['retry-after']);
  t.true(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After ${String(answer.headers['retry-after'])}`);
}

for (const backend of ['file store', 'etcd'] as const) {
  test.serial(`one failing node behind a NAT gets 429; its neighbours with valid tokens and credentials are never refused (${backend})`, async (t) => {
    const etcd = backend === 'etcd' ? await startEtcd() : undefined;
    if (etcd) t.teardown(() => etcd.stop());
    const data = path.join(tempDir('labimg-limits-'), 'data');
    const store = { data, ...(etcd ? { etcd: etcd.url, etcdPrefix: 'limits/' } : {}) };
    const token = createPool(store, 'lab', 'ubuntu');
    const serve = await startServe(store);
    t.teardown(() => serve.kill());

    // The broken node: a token of the right shape that is no pool's, sent again and again from the shared address.
    const broken = `zzzzzzzz.${'B'.repeat(43)}`;
    const credentials = new Map<string, string>();
    for (let i = 0; i < FAILURES_PER_MINUTE + 5; i += 1) {
      const answer = await send(serve.port, { method: 'POST', path: '/v1/enroll', token: broken, json: enrollBody('broken') });
      if (i < FAILURES_PER_MINUTE) t.is(answer.status, 401, `failure ${i + 1}: ${answer.text}`);
      else limited(t, answer, /too many failed authentications from 127\.0\.0\.1/);
      // A neighbour enrolls between each of the broken node's tries, and reports with its new credential.
      const node = `good-${i}`;
      const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody(node) });
      t.is(enrolled.status, 200, `${node} enrolling after ${i + 1} failures from its address: ${enrolled.text}`);
      const credential = (enrolled.json as { credential: string }).credential;
      credentials.set(node, credential);
      const report = await send(serve.port, { method: 'POST', path: `/v1/nodes/${node}/reports`, token: credential, json: reportBody(node) });
      t.is(report.status, 200, `${node} reporting: ${report.text}`);
    }

    // Anyone spamming the pool token's id with wrong secrets: refused (429 past the limit), and the token itself still works.
    for (let i = 0; i < FAILURES_PER_MINUTE + 2; i += 1) {
      const answer = await send(serve.port, { method: 'POST', path: '/v1/enroll', token: wrongSecretOf(token), json: enrollBody('thief') });
      t.true(answer.status === 401 || answer.status === 429, answer.text);
    }
    limited(t, await send(serve.port, { method: 'POST', path: '/v1/enroll', token: wrongSecretOf(token), json: enrollBody('thief') }), /too many failed authentications/);
    t.is((await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('late-joiner') })).status, 200, 'the pool token after its id was spammed');

    // The same for a node's name: wrong credentials for good-0 get 429, good-0's own credential is served.
    for (let i = 0; i < FAILURES_PER_MINUTE + 2; i += 1) {
      await send(serve.port, { method: 'POST', path: '/v1/nodes/good-0/reports', token: 'not-the-credential', json: reportBody('good-0') });
    }
    limited(t, await send(serve.port, { method: 'POST', path: '/v1/nodes/good-0/reports', token: 'not-the-credential', json: reportBody('good-0') }), /too many failed authentications/);
    const own = await send(serve.port, { method: 'POST', path: '/v1/nodes/good-0/reports', token: credentials.get('good-0')!, json: reportBody('good-0') });
    t.is(own.status, 200, `good-0 with its own credential after its name was spammed: ${own.text}`);

    // None of that stored anything for the broken node or the thief.
    const fleet = await send(serve.port, { path: '/v1/fleet' });
    const names = JSON.stringify(fleet.json);
    t.false(names.includes('"broken"'));
    t.false(names.includes('"thief"'));
    t.true(names.includes('"late-joiner"'));
  });
}

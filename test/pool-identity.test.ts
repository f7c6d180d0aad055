/**
 * A pool whose workers enroll with their cloud's signed instance identity document instead of a token, through
 * the README's commands (`labimg pool identity`) and a real `labimg serve`, on both store backends. A stand-in
 * cloud signs the documents; its certificate is what the operator configures, as they would configure AWS's or
 * Alibaba Cloud's published one. A genuine document enrolls its instance under its instance id; a forged, stale,
 * replayed, foreign or misnamed one is refused with its own message and an audit record.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mintNonce, nonceRefusal } from '../endpoint/identity/nonces';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { startEtcd } from './helpers/etcd';
import { createPool, startServe, storeArgs, type ServeOptions } from './helpers/endpoint';
import { aliyunDocument, aliyunSignedBytes, awsDocument, makeMetadataSigner, signContent, startMetadataService, type MetadataSigner } from './helpers/instance-metadata';
import { send, type Answer } from './helpers/https-client';
import { labimg, tempDir } from './helpers/cli';

type Store = Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>;

const ACCOUNT = '123456789012';
const aws = makeMetadataSigner('stand-in AWS us-east-1');
const aliyun = makeMetadataSigner('stand-in Alibaba Cloud');
const forger = makeMetadataSigner('stand-in AWS us-east-1');

/** A signature of `content` as the cloud behind `signer` makes it. */
function sign(signer: MetadataSigner, content: string | Buffer): string {
  return signContent(signer, Buffer.from(content));
}

function certificateFile(pem: string): string {
  const file = path.join(tempDir(), 'cloud.pem');
  writeFileSync(file, pem);
  return file;
}

function credential(seed: string): string {
  return createHash('sha256').update(seed).digest('base64url');
}

function enroll(port: number, body: Record<string, unknown>, seed: string): Promise<Answer> {
  return send(port, { method: 'POST', path: '/v1/enroll/identity', json: { role: 'worker', profile: 'ubuntu', gpu: false, pool: 'lab', ...body }, headers: { 'labimg-node-credential': credential(seed) } });
}

function error(answer: Answer): string {
  return (answer.json as { error?: string } | undefined)?.error ?? answer.text;
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

async function awsPool(t: ExecutionContext, store: Store): Promise<void> {
  const serve = await startServe(store);
  t.teardown(() => serve.kill());
  createPool(store, 'lab', 'ubuntu');
  const set = labimg(['pool', 'identity', 'lab', '--provider', 'aws', '--certificate', certificateFile(aws.certPem), '--account', ACCOUNT, '--region', 'us-east-1', ...storeArgs(store)]);
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /pool lab takes aws instance identity documents of account 123456789012 for workers \(1 certificate\)/);

  const document = (instanceId: string, fields: Partial<{ accountId: string; region: string; pendingTime: string }> = {}) =>
    awsDocument({ accountId: ACCOUNT, region: 'us-east-1', instanceId, imageId: 'ami-0abc', pendingTime: minutesAgo(3), ...fields });
  const genuine = sign(aws, document('i-0aaa'));
  const ok = await enroll(serve.port, { node: 'i-0aaa', provider: 'aws', signature: genuine }, 'i-0aaa');
  t.is(ok.status, 200, ok.text);
  t.like(ok.json, { node: 'i-0aaa', pool: 'lab', credential: credential('i-0aaa') });
  t.is((await send(serve.port, { path: '/v1/nodes/i-0aaa/join', token: credential('i-0aaa') })).status, 503, 'the enrolled instance uses its credential');
  const retry = await enroll(serve.port, { node: 'i-0aaa', provider: 'aws', signature: genuine }, 'i-0aaa');
  t.is(retry.status, 200, `the same machine may send its enrollment again: ${retry.text}`);

  const refusals: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['forged', { node: 'i-0bbb', signature: sign(forger, document('i-0bbb')) }, 401, /^the signer \(serial [0-9a-f]+\) is none of the configured certificates for aws$/],
    ['tampered', { node: 'i-0bbb', signature: tamper(sign(aws, document('i-0bbb'))) }, 401, /^the signed messageDigest does not match the content$/],
    ['stale', { node: 'i-0ccc', signature: sign(aws, document('i-0ccc', { pendingTime: minutesAgo(90) })) }, 403, /^instance i-0ccc was launched at \S+, more than 60 min ago; its document is taken only that long after launch/],
    ['replayed', { node: 'i-0aaa', signature: genuine }, 403, /^this identity document was used already/],
    ['replayed, encoded anew', { node: 'i-0aaa', signature: reencoded(genuine) }, 403, /^this identity document was used already/],
    ['wrong account', { node: 'i-0ddd', signature: sign(aws, document('i-0ddd', { accountId: '999999999999' })) }, 403, /^instance i-0ddd belongs to account 999999999999, which pool "lab" does not take$/],
    ['wrong region', { node: 'i-0eee', signature: sign(aws, document('i-0eee', { region: 'eu-west-1' })) }, 403, /^instance i-0eee runs in region eu-west-1, which pool "lab" does not take$/],
    ['another name', { node: 'i-0aaa', signature: sign(aws, document('i-0fff')) }, 403, /^an identity document enrolls its own instance, named "i-0fff", not "i-0aaa"$/],
    ['control plane', { node: 'i-0ggg', role: 'control-plane', signature: sign(aws, document('i-0ggg')) }, 403, /^an instance identity document enrolls workers only/],
  ];
  for (const [what, body, status, message] of refusals) {
    const answer = await enroll(serve.port, { provider: 'aws', ...body }, `attacker ${what}`);
    t.is(answer.status, status, `${what}: ${answer.text}`);
    t.regex(error(answer), message, what);
  }
  const withAudience = await enroll(serve.port, { node: 'i-0iii', provider: 'aws', signature: sign(aws, document('i-0iii')), audience: 'anything' }, 'i-0iii');
  t.is(withAudience.status, 400);
  t.regex(error(withAudience), /^an aws identity document is signed with its content and at launch: it takes no audience/);
  const otherPool = await send(serve.port, { method: 'POST', path: '/v1/enroll/identity', json: { node: 'i-0hhh', role: 'worker', profile: 'ubuntu', gpu: false, pool: 'other', provider: 'aws', signature: sign(aws, document('i-0hhh')) } });
  t.is(otherPool.status, 403);
  t.regex(error(otherPool), /^pool "other" takes no instance identity documents/);

  const nodes = JSON.parse(labimg(['nodes', '--json', ...storeArgs(store)]).stdout) as { nodes: Array<{ node: string }> };
  t.deepEqual(nodes.nodes.map((n) => n.node), ['i-0aaa'], 'only the genuine instance enrolled');
  const audit = labimg(['audit', ...storeArgs(store)]).stdout;
  t.regex(audit, /node-enrolled\s+pool=lab node=i-0aaa .*instance="?aws 123456789012\/us-east-1\/i-0aaa/);
  t.is(audit.split('\n').filter((line) => line.includes('enrollment-refused')).length, refusals.length + 1, audit);
}

/**
 * The same signature with its outer SEQUENCE's length in the long form: other bytes, the same signed content
 * and signature, which a verifier still accepts (BER), so a replay must not be told apart by its text.
 */
function reencoded(signature: string): string {
  const der = Buffer.from(signature, 'base64');
  if (der[0] !== 0x30 || der[1] !== 0x82) throw new Error('expected a SEQUENCE with a two-byte length');
  return Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), der.subarray(2)]).toString('base64');
}

/** One byte of the signed document changed after signing. */
function tamper(signature: string): string {
  const der = Buffer.from(signature, 'base64');
  const at = der.indexOf(Buffer.from('us-east-1'));
  der[at] = 'U'.charCodeAt(0);
  return der.toString('base64');
}

async function aliyunPool(t: ExecutionContext, store: Store): Promise<void> {
  const serve = await startServe(store);
  t.teardown(() => serve.kill());
  createPool(store, 'lab', 'ubuntu');
  const set = labimg(['pool', 'identity', 'lab', '--provider', 'aliyun', '--certificate', certificateFile(aliyun.certPem), '--account', '1234567890123456', ...storeArgs(store)]);
  t.is(set.code, 0, set.stderr);
  const document = (instanceId: string, accountId = '1234567890123456') => aliyunDocument({ accountId, region: 'cn-hangzhou', instanceId, imageId: 'm-bp1abc' });
  const nonce = async () => ((await send(serve.port, { path: '/v1/identity/nonce' })).json as { nonce: string }).nonce;

  const audience = await nonce();
  const signed = (instanceId: string, audienceOf: string, accountId?: string) => ({
    node: instanceId,
    provider: 'aliyun',
    document: document(instanceId, accountId),
    audience: audienceOf,
    signature: sign(aliyun, aliyunSignedBytes(document(instanceId, accountId), audienceOf)),
  });
  const ok = await enroll(serve.port, signed('i-bp1aaa', audience), 'i-bp1aaa');
  t.is(ok.status, 200, ok.text);

  const reused = await enroll(serve.port, signed('i-bp1bbb', audience), 'i-bp1bbb');
  t.is(reused.status, 403, 'a nonce enrolls once');
  t.regex(error(reused), /^this identity document was used already/);
  const made = audience.split('.');
  const foreign = `${made[0]}.${made[1]}.${'A'.repeat(22)}`;
  const forged = await enroll(serve.port, signed('i-bp1ccc', foreign), 'i-bp1ccc');
  t.is(forged.status, 401);
  t.is(error(forged), 'the audience is not a nonce this endpoint made');
  const other = await nonce();
  const wrongAudience = { ...signed('i-bp1ddd', other), signature: sign(aliyun, aliyunSignedBytes(document('i-bp1ddd'), audience)) };
  const mismatch = await enroll(serve.port, wrongAudience, 'i-bp1ddd');
  t.is(mismatch.status, 401, mismatch.text);
  const wrongAccount = await enroll(serve.port, signed('i-bp1eee', await nonce(), '6543210987654321'), 'i-bp1eee');
  t.is(wrongAccount.status, 403);
  t.regex(error(wrongAccount), /^instance i-bp1eee belongs to account 6543210987654321/);
}

test.serial('an AWS identity pool enrolls a genuine instance and refuses forged, stale, replayed and foreign documents (file store)', async (t) => {
  await awsPool(t, { data: tempDir('labimg-endpoint-') });
});

test.serial('the same AWS identity pool with the endpoint keeping its state in etcd', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await awsPool(t, { data: path.join(tempDir('labimg-endpoint-'), 'unused'), etcd: etcd.url, etcdPrefix: 'identity-test/' });
});

test.serial('an Alibaba Cloud identity pool takes each nonce once, and only its own', async (t) => {
  await aliyunPool(t, { data: tempDir('labimg-endpoint-') });
});

test.serial('a worker built with --identity carries no token in its user-data, and enrolls through labimg serve as its instance', async (t) => {
  const store = { data: tempDir('labimg-endpoint-') };
  const serve = await startServe(store);
  t.teardown(() => serve.kill());
  createPool(store, 'lab', 'ubuntu');
  const signer = makeMetadataSigner('stand-in AWS us-east-1');
  t.is(labimg(['pool', 'identity', 'lab', '--provider', 'aws', '--certificate', certificateFile(signer.certPem), '--account', ACCOUNT, ...storeArgs(store)]).code, 0);
  const out = tempDir();
  const built = labimg(['build', 'ubuntu', '--out', out, '--endpoint', serve.url, '--endpoint-ca-fingerprint', serve.caFingerprint, '--pool', 'lab', '--identity', 'aws']);
  t.is(built.code, 0, built.stderr);

  const userData = readFileSync(path.join(out, 'ubuntu', 'user-data-worker.yaml'), 'utf8');
  const files = (load(userData) as { write_files: Array<{ path: string; content: string }> }).write_files;
  t.false(files.some((file) => file.path === '/etc/labimg/secrets.json'), 'no secrets file');
  t.notRegex(userData, /enrollmentToken|[a-z0-9]{8}\.[A-Za-z0-9_-]{43}/, 'no enrollment token anywhere in it');
  const node = JSON.parse(files.find((file) => file.path === '/etc/labimg/node.json')?.content ?? '{}') as NodeConfig;
  t.deepEqual(node.endpoint?.identity, { provider: 'aws' });

  // The instance: its metadata service signs what the pool's configured certificate verifies.
  const instanceId = 'i-0123456789abcdef0';
  const metadata = await startMetadataService({ provider: 'aws', signer, identity: { instanceId, accountId: ACCOUNT, region: 'us-east-1', imageId: 'ami-0abc', pendingTime: minutesAgo(2) } });
  t.teardown(() => metadata.close());
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node: { ...node, endpoint: { ...node.endpoint!, identity: { provider: 'aws', metadataUrl: metadata.url } } } });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(run.code, 0, run.stdout + run.stderr);
  const nodes = JSON.parse(labimg(['nodes', '--json', ...storeArgs(store)]).stdout) as { nodes: Array<{ node: string; role: string; pool: string }> };
  t.like(nodes.nodes, [{ node: instanceId, role: 'worker', pool: 'lab' }]);
  t.regex(labimg(['audit', ...storeArgs(store)]).stdout, new RegExp(`node-enrolled\\s+pool=lab node=${instanceId} instance="aws ${ACCOUNT}/us-east-1/${instanceId}"`));
  t.is(machine.mode('/var/lib/labimg/credential.json'), 0o600);
});

test('a nonce is refused once it has expired, and when any part of it was changed', (t) => {
  const key = randomBytes(32);
  const madeAt = new Date('2026-12-05T10:00:00Z');
  const { nonce, expiresAt } = mintNonce(key, madeAt);
  t.is(expiresAt, '2026-12-05T10:05:00.000Z');
  t.regex(nonce, /^[A-Za-z0-9._-]+$/, 'nothing that needs escaping in a query string or JSON');
  t.is(nonceRefusal(key, nonce, new Date('2026-12-05T10:04:59Z')), undefined);
  t.is(nonceRefusal(key, nonce, new Date('2026-12-05T10:05:00Z')), 'the nonce expired at 2026-12-05T10:05:00.000Z; the node asks for a new one');
  const [expires, random, tag] = nonce.split('.') as [string, string, string];
  t.is(nonceRefusal(key, `${Number(expires) + 3600}.${random}.${tag}`, madeAt), 'the audience is not a nonce this endpoint made', 'a later expiry');
  t.is(nonceRefusal(randomBytes(32), nonce, madeAt), 'the audience is not a nonce this endpoint made', "another endpoint's key");
  t.is(nonceRefusal(key, 'hello', madeAt), 'the audience is not a nonce of this endpoint (GET /v1/identity/nonce)');
});

test('labimg pool identity refuses a certificate file without a certificate, and stores nothing', (t) => {
  const data = tempDir('labimg-endpoint-');
  createPool({ data }, 'lab', 'ubuntu');
  const bad = path.join(tempDir(), 'not-a-cert.pem');
  writeFileSync(bad, 'hello\n');
  const result = labimg(['pool', 'identity', 'lab', '--provider', 'aws', '--certificate', bad, '--account', ACCOUNT, '--data', data]);
  t.is(result.code, 1);
  t.regex(result.stderr, /--certificate .*not-a-cert\.pem: no "-----BEGIN CERTIFICATE-----" block in it/);
  t.notRegex(labimg(['pool', 'list', '--data', data]).stdout, /identity document/);
});

/**
 * kubectl for the end-to-end VM: `create -f`, `get -f` and `create --dry-run=client -o json -f`, what the agent
 * asks of it, against a record of what was created kept under /var/lib/labimg-e2e (there is no API server). It needs the
 * kubeconfig kubeadm init wrote, as the real one does. It reads the manifest it is given, as kubectl does:
 * a file from the disk, a URL from the manifests the test registered (MANIFESTS, built in by
 * e2e/helpers/packages.ts; a baked VM has no network, and an online one must not depend on GitHub), anything
 * else is the server's 404. Documents are parsed, validated and created by the rules of the agent tests'
 * kubectl stand-in (test/fake-bin/lib/kube-manifest.js, which names kubectl's sources); each created object
 * is recorded with the manifest it came from.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const manifests = require('../../test/fake-bin/lib/kube-manifest.js') as {
  create(objects: object[], text: string, source: string): { out: string; err: string; code: number };
  get(objects: object[], text: string, source: string): { out: string; err: string; code: number };
  dryRun(objects: object[], text: string, source: string): { out: string; err: string; code: number };
  unreadableUrl(url: string): string;
};

declare const MANIFESTS: string;

// The unit tests run this file against a temp directory; in the VM it is the fixed one.
const STATE = process.env.LABIMG_E2E_STATE ?? '/var/lib/labimg-e2e';
const OBJECTS = `${STATE}/created.json`;

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function created(): object[] {
  return existsSync(OBJECTS) ? (JSON.parse(readFileSync(OBJECTS, 'utf8')) as object[]) : [];
}

/** URL → manifest text, as the test registered them when it built this file; none when it registered none. */
function registered(): Record<string, string> {
  return typeof MANIFESTS === 'string' ? (JSON.parse(MANIFESTS) as Record<string, string>) : {};
}

const args = process.argv.slice(2);
mkdirSync(STATE, { recursive: true });
appendFileSync(`${STATE}/calls.log`, `kubectl ${args.join(' ')}\n`);
const at = args.indexOf('--kubeconfig');
const kubeconfig = at >= 0 ? args[at + 1] : undefined;
if (!kubeconfig || !existsSync(kubeconfig)) fail(`error: stat ${kubeconfig ?? '~/.kube/config'}: no such file or directory`);
const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;

/** `create -f`, `get -f`, `create --dry-run=client -o json -f`: against the record of what was created. */
function manifestCommand(rest: string[]): never {
  const dryRun = rest.length === 6 && rest[0] === 'create' && rest.slice(1, 5).join(' ') === '--dry-run=client -o json -f';
  const [verb, flag, source] = dryRun ? ['create', '-f', rest[5]] : rest;
  if (flag !== '-f' || !source || (rest.length !== 3 && !dryRun)) fail(`kubectl stand-in: "${args.join(' ')}" is not something the agent runs`, 64);
  if (verb !== 'create' && verb !== 'get') fail(`kubectl stand-in: "${verb}" is not something the agent runs`, 64);
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const body = registered()[source];
    if (body === undefined) fail(`${verb === 'create' ? 'error: ' : ''}${manifests.unreadableUrl(source)}`);
    text = body;
  } else {
    if (!existsSync(source)) fail(`error: the path "${source}" does not exist`);
    text = readFileSync(source, 'utf8');
  }
  const objects = created();
  const result = dryRun ? manifests.dryRun(objects, text, source) : verb === 'create' ? manifests.create(objects, text, source) : manifests.get(objects, text, source);
  if (verb === 'create' && !dryRun) writeFileSync(OBJECTS, JSON.stringify(objects));
  process.stdout.write(result.out);
  process.stderr.write(result.err);
  process.exit(result.code);
}

// The control plane's GPU readiness gate watches the nodes (agent/cli/gate-command.ts). This VM has no API server
// and so no Node to print: the watch stays open and silent, as a real one does while nothing changes.
if (rest.length === 5 && rest.slice(0, 4).join(' ') === 'get nodes --watch -o' && rest[4]!.startsWith('jsonpath=')) setInterval(() => undefined, 60_000);
else manifestCommand(rest);

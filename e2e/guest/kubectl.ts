/**
 * kubectl for the end-to-end VM: `create -f` and `get -f`, the two things the agent asks of it, against a
 * record of what was created kept under /var/lib/labimg-e2e (there is no API server). It needs the
 * kubeconfig kubeadm init wrote, as the real one does.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const STATE = '/var/lib/labimg-e2e';
const OBJECTS = `${STATE}/created.json`;

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function created(): string[] {
  return existsSync(OBJECTS) ? (JSON.parse(readFileSync(OBJECTS, 'utf8')) as string[]) : [];
}

const args = process.argv.slice(2);
mkdirSync(STATE, { recursive: true });
appendFileSync(`${STATE}/calls.log`, `kubectl ${args.join(' ')}\n`);
const at = args.indexOf('--kubeconfig');
const kubeconfig = at >= 0 ? args[at + 1] : undefined;
if (!kubeconfig || !existsSync(kubeconfig)) fail(`error: stat ${kubeconfig ?? '~/.kube/config'}: no such file or directory`);
const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;
const [verb, flag, source] = rest;
if (flag !== '-f' || !source) fail(`kubectl stand-in: "${args.join(' ')}" is not something the agent runs`, 64);
if (!/^https?:\/\//.test(source) && !existsSync(source)) fail(`error: the path "${source}" does not exist`);
if (verb === 'create') {
  if (created().includes(source)) fail(`Error from server (AlreadyExists): error when creating "${source}": already exists`);
  writeFileSync(OBJECTS, JSON.stringify([...created(), source]));
  process.stdout.write(`created from ${source}\n`);
} else if (verb === 'get') {
  if (!created().includes(source)) fail(`Error from server (NotFound): error when retrieving "${source}": not found`);
  process.stdout.write(`NAME  ${source}\n`);
} else {
  fail(`kubectl stand-in: "${verb}" is not something the agent runs`, 64);
}

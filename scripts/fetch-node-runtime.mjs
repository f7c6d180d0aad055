// Fetches the Node.js runtime the profiles pin for the agent (profiles/base.yaml: agent.nodeRuntime), checks
// its sha256 exactly as install-node.sh does on a node, and unpacks it into .cache/node-<version>/ (keeping
// the tarball beside it).
// The tests run dist/agent.js under it, so the bundle is proven on the oldest Node it must support, and a
// pin that no longer matches its URL fails here rather than on a booting machine.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { version, url, sha256 } = load(readFileSync(path.join(root, 'profiles/base.yaml'), 'utf8')).agent.nodeRuntime;
const target = path.join(root, '.cache', `node-${version}`);
// The tarball itself is kept too: the end-to-end VMs download it from this host, as nodes download it.
const tarballCopy = path.join(root, '.cache', path.basename(new URL(url).pathname));

if (existsSync(path.join(target, 'bin', 'node')) && existsSync(tarballCopy)) process.exit(0);

const response = await fetch(url);
if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
const tarball = Buffer.from(await response.arrayBuffer());
const actual = createHash('sha256').update(tarball).digest('hex');
if (actual !== sha256) {
  console.error(`profiles/base.yaml pins sha256 ${sha256} for ${url}, but the download has ${actual}`);
  process.exit(1);
}

const staging = `${target}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
writeFileSync(path.join(staging, 'node.tar'), tarball);
execFileSync('tar', ['-xf', path.join(staging, 'node.tar'), '-C', staging, '--strip-components=1']);
rmSync(path.join(staging, 'node.tar'));
rmSync(target, { recursive: true, force: true });
renameSync(staging, target);
writeFileSync(`${tarballCopy}.tmp-${process.pid}`, tarball);
renameSync(`${tarballCopy}.tmp-${process.pid}`, tarballCopy);
console.log(`Node.js ${version} from ${url} (sha256 verified) in ${path.relative(root, target)}`);

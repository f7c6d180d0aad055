// What each dependency costs the agent: the same bundle options as scripts/build.mjs, built in memory with a
// metafile. `npm run bench` prints the table.
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { build } from 'esbuild';

const OPTIONS = { bundle: true, platform: 'node', format: 'cjs', legalComments: 'none', target: 'node16.9', minify: true, write: false, metafile: true };

async function agentBundle(root) {
  const result = await build({ ...OPTIONS, entryPoints: [path.join(root, 'agent/main.ts')], outfile: 'agent.js' });
  const bytes = result.outputFiles[0].contents;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  return { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, inputs };
}

/** Rows of "what | minified | gzip -9": the agent and each npm package's share of it. */
export async function agentSizeRows(root) {
  const whole = await agentBundle(root);
  const packages = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(whole.inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    if (name) packages.set(name, (packages.get(name) ?? 0) + bytesInOutput);
  }
  return [
    ['dist/agent.js', whole.bytes, whole.gzip],
    ...[...packages].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => [`of which ${name}`, bytes, undefined]),
  ];
}

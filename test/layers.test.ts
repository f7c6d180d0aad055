/**
 * The folders are the design: contract/ imports nothing of ours; the agent, which runs on every node, and the
 * endpoint each import only the contract; the builder compiles and renders from profiles and the contract;
 * commands (cli/, and vm/ for `labimg boot`) sit on top. Every production import is resolved by the TypeScript
 * compiler itself and checked against these rules, and no production file is part of an import cycle.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './helpers/cli';

/** What each production folder may import, besides itself (packages from node_modules are not ours). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  contract: [],
  agent: ['contract'],
  endpoint: ['contract'],
  builder: ['contract', 'profiles'],
  vm: ['contract', 'agent'],
  cli: ['contract', 'agent', 'endpoint', 'builder', 'vm', 'package.json'],
};

interface Import {
  from: string;
  to: string;
}

function productionImports(): Import[] {
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(repoRoot, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, repoRoot);
  const folderOf = (file: string) => path.relative(repoRoot, file).split(path.sep)[0] ?? '';
  const files = config.fileNames.filter((file) => folderOf(file) in MAY_IMPORT);
  return files.flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.filter((imported) => imported.fileName.startsWith('.'))
      .map((imported) => {
        const resolved = ts.resolveModuleName(imported.fileName, file, config.options, ts.sys).resolvedModule;
        if (!resolved) throw new Error(`${path.relative(repoRoot, file)}: cannot resolve ${imported.fileName}`);
        return { from: path.relative(repoRoot, file), to: path.relative(repoRoot, resolved.resolvedFileName) };
      }),
  );
}

const imports = productionImports();
const folder = (file: string) => file.split('/')[0] ?? '';

/** The imports a folder may not make. */
function refused(list: readonly Import[]): string[] {
  return list.filter(({ from, to }) => folder(from) !== folder(to) && !MAY_IMPORT[folder(from)]!.includes(folder(to))).map(({ from, to }) => `${from} → ${to}`);
}

/** Every import cycle, as its files: Tarjan's strongly connected components of more than one file, or a file that imports itself. */
function cyclesIn(list: readonly Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of list) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (next.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of next.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

test('each folder imports only the layers below it: contract nothing, agent and endpoint only the contract', (t) => {
  t.true(imports.length > 300, 'the compiler found the imports');
  t.deepEqual(refused(imports), []);
});

test('no production file is part of an import cycle', (t) => {
  t.deepEqual(cyclesIn(imports), []);
});

test('the checks catch what they are for: planted imports across layers, and a planted cycle', (t) => {
  const planted: Import[] = [
    { from: 'endpoint/server.ts', to: 'agent/plan.ts' },
    { from: 'agent/runner.ts', to: 'builder/compile.ts' },
    { from: 'contract/endpoint-api.ts', to: 'endpoint/http.ts' },
  ];
  t.is(refused([...imports, ...planted]).length, planted.length);
  const cycle: Import[] = [
    { from: 'builder/planted-a.ts', to: 'builder/planted-b.ts' },
    { from: 'builder/planted-b.ts', to: 'builder/planted-a.ts' },
    { from: 'builder/planted-b.ts', to: 'builder/versions.ts' },
  ];
  t.deepEqual(cyclesIn([...imports, ...cycle]), [['builder/planted-a.ts', 'builder/planted-b.ts']]);
});

test("the README's Layout section names every folder that holds code, and no folder that is gone", (t) => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const layout = /## Layout\n+```\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(layout, 'README.md has a Layout section with a block');
  const listed = new Set((layout ?? '').split('\n').map((line) => /^([a-z0-9-]+)\//.exec(line)?.[1]).filter((name): name is string => name !== undefined));
  const withCode = new Set([...imports.map((i) => folder(i.from)), 'test', 'e2e', 'bench', 'profiles', 'packer', 'scripts']);
  t.deepEqual([...withCode].filter((name) => !listed.has(name)).sort(), [], 'folders missing from the Layout');
  t.deepEqual([...listed].filter((name) => !withCode.has(name)).sort(), [], 'folders the Layout names that hold nothing');
});

/**
 * Adding an OS family is its answers in contract/os-families.ts (what its nodes ask, what a build asks), and
 * the compiler refuses the family until it answers every question. This runs the TypeScript compiler over
 * labimg's own code (every production file of tsconfig.json) with a made-up family, "solaris", added to the
 * contract's OsFamily union: first with no answers, then with some, then with all of them.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { OS_FAMILIES, OS_FAMILIES_ON_NODE } from '../contract/os-families';
import { repoRoot } from './helpers/cli';

const AGENT_CONFIG = path.join(repoRoot, 'contract', 'agent-config.ts');
const OS_FAMILIES_FILE = path.join(repoRoot, 'contract', 'os-families.ts');
const PRODUCTION = ['contract', 'agent', 'builder', 'endpoint', 'cli'].map((dir) => `${path.join(repoRoot, dir)}${path.sep}`);

/** A made-up family's answer to each question its nodes ask, and to each a build asks, as TypeScript source. */
const SOLARIS_ON_NODE: Readonly<Record<string, string>> = {
  packageFormat: "'none'",
  pinning: "'none'",
  firewall: "'none'",
  selinux: 'false',
  initramfsRebuild: 'undefined',
};
const SOLARIS_FOR_BUILDS: Readonly<Record<string, string>> = {
  freshInstall: "{ idLike: 'sun', fstab: [], swaps: '' }",
  packageManagers: "['none']",
  nodejsPackage: 'false',
  readOnlyUsr: 'false',
  instanceConfig: "'cloud-init'",
  networkInstaller: "() => ({ kind: 'none', why: 'solaris has no installer labimg writes for' })",
  releases: '[]',
};

function compilerSetup(): { options: ts.CompilerOptions; roots: string[] } {
  const configFile = ts.readConfigFile(path.join(repoRoot, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot);
  return { options: parsed.options, roots: parsed.fileNames.filter((file) => PRODUCTION.some((dir) => path.resolve(file).startsWith(dir))) };
}

/** The project's production code compiled with the two contract files replaced; every error, as text, by file. */
function compileWith(setup: ReturnType<typeof compilerSetup>, replaced: ReadonlyMap<string, string>, old?: ts.Program): { program: ts.Program; errors: Array<{ file: string; code: number; text: string }> } {
  const host = ts.createCompilerHost(setup.options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => replaced.get(path.resolve(file)) ?? readFile(file);
  host.getSourceFile = (file, language, onError, createNew) => {
    const text = replaced.get(path.resolve(file));
    return text === undefined ? getSourceFile(file, language, onError, createNew) : ts.createSourceFile(file, text, language);
  };
  const program = ts.createProgram({ rootNames: setup.roots, options: setup.options, host, ...(old ? { oldProgram: old } : {}) });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ({
    file: d.file ? path.relative(repoRoot, d.file.fileName) : '',
    code: d.code,
    text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
  return { program, errors };
}

test('a made-up OS family does not compile until its entry answers every question; then everything compiles', (t) => {
  const setup = compilerSetup();
  t.true(setup.roots.some((file) => file.endsWith(path.join('agent', 'main.ts'))), 'the agent is compiled too');

  const union = "export type OsFamily = 'rhel' | 'debian' | 'flatcar';";
  const agentConfig = readFileSync(AGENT_CONFIG, 'utf8');
  t.true(agentConfig.includes(union), 'the contract spells the family union as this test expects');
  const withSolaris = agentConfig.replace(union, "export type OsFamily = 'rhel' | 'debian' | 'flatcar' | 'solaris';");
  const families = readFileSync(OS_FAMILIES_FILE, 'utf8');
  // Where each table's last entry ends: the nodes' table, then the builds' (the argument of a call).
  const tableEnds = { onNode: '\n  },\n};\n', forBuilds: '\n  },\n});\n' } as const;
  for (const end of Object.values(tableEnds)) t.is(families.split(end).length, 2, 'each table ends once, where the test adds an entry');
  const entry = (answers: Readonly<Record<string, string>>) => `\n  solaris: {\n${Object.entries(answers).map(([key, value]) => `    ${key}: ${value},`).join('\n')}\n  },`;
  const withEntries = (onNode: Readonly<Record<string, string>>, forBuilds?: Readonly<Record<string, string>>) => {
    let text = families.replace(tableEnds.onNode, `\n  },${entry(onNode)}\n};\n`);
    if (forBuilds) text = text.replace(tableEnds.forBuilds, `\n  },${entry(forBuilds)}\n});\n`);
    return text;
  };

  // The questions, as the compiler knows them: every property of OsFamilyTraits.
  const baseline = compileWith(setup, new Map());
  t.deepEqual(baseline.errors, [], 'labimg compiles as it is');
  const checker = baseline.program.getTypeChecker();
  const contract = baseline.program.getSourceFile(OS_FAMILIES_FILE);
  const questionsOf = (name: string): string[] => {
    const declaration = contract?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
    t.truthy(declaration, name);
    return checker.getPropertiesOfType(checker.getTypeAtLocation(declaration!)).map((p) => p.name).sort();
  };
  const nodeQuestions = questionsOf('OsFamilyOnNode');
  t.deepEqual(Object.keys(SOLARIS_ON_NODE).sort(), nodeQuestions, 'the made-up family answers exactly what nodes ask');
  t.deepEqual(Object.keys(SOLARIS_FOR_BUILDS).sort(), questionsOf('OsFamilyForBuilds'), 'and exactly what builds ask');
  t.deepEqual(Object.keys(OS_FAMILIES).sort(), ['debian', 'flatcar', 'rhel']);
  t.deepEqual(Object.keys(OS_FAMILIES_ON_NODE).sort(), ['debian', 'flatcar', 'rhel']);

  // 1. A new name in the union, and no answers: neither table compiles.
  const noEntry = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris]]), baseline.program);
  const missingFamily = noEntry.errors.filter((e) => e.file === path.join('contract', 'os-families.ts') && /Property 'solaris' is missing/.test(e.text));
  t.is(missingFamily.length, 2, noEntry.errors.map((e) => `${e.file}: ${e.text}`).join('\n'));

  // 2. The nodes' answers but one, and no build answers: refused, naming what is missing.
  const { packageFormat, ...allButOne } = SOLARIS_ON_NODE;
  t.truthy(packageFormat);
  const partial = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris], [OS_FAMILIES_FILE, withEntries(allButOne)]]), noEntry.program);
  const missing = partial.errors.filter((e) => e.file === path.join('contract', 'os-families.ts'));
  t.true(missing.some((e) => /Property 'packageFormat' is missing .* but required in type 'OsFamilyOnNode'/s.test(e.text)), missing.map((e) => e.text).join('\n'));
  t.true(missing.some((e) => /Property 'solaris' is missing/.test(e.text)), 'the builds\' table still lacks the family');

  // 3. Every question answered: labimg compiles again, agent and builder included, with nothing else changed.
  const complete = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris], [OS_FAMILIES_FILE, withEntries(SOLARIS_ON_NODE, SOLARIS_FOR_BUILDS)]]), partial.program);
  t.deepEqual(complete.errors, []);

  // 4. And a build answer left out is refused the same way.
  const { releases, ...buildsButOne } = SOLARIS_FOR_BUILDS;
  t.truthy(releases);
  const noReleases = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris], [OS_FAMILIES_FILE, withEntries(SOLARIS_ON_NODE, buildsButOne)]]), complete.program);
  t.true(noReleases.errors.some((e) => /Property 'releases' is missing .* but required in type 'OsFamilyForBuilds'/s.test(e.text)), noReleases.errors.map((e) => e.text).join('\n'));
});

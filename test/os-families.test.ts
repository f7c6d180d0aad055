/**
 * Adding an OS family is one entry in contract/os-families.ts, and the compiler refuses the entry until it
 * answers every question. This runs the TypeScript compiler over labimg's own code (every production file
 * of tsconfig.json) with a made-up family, "solaris", added to the contract's OsFamily union: first with no
 * entry, then with an entry that answers two questions, then with one that answers them all.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { OS_FAMILIES } from '../contract/os-families';
import { repoRoot } from './helpers/cli';

const AGENT_CONFIG = path.join(repoRoot, 'contract', 'agent-config.ts');
const OS_FAMILIES_FILE = path.join(repoRoot, 'contract', 'os-families.ts');
const PRODUCTION = ['contract', 'agent', 'builder', 'endpoint', 'cli'].map((dir) => `${path.join(repoRoot, dir)}${path.sep}`);

/** A made-up family's answer to each question, as TypeScript source. */
const SOLARIS: Readonly<Record<string, string>> = {
  packageFormat: "'none'",
  packageManagers: "['none']",
  pinning: "'none'",
  firewall: "'none'",
  selinux: 'false',
  nodejsPackage: 'false',
  readOnlyUsr: 'false',
  instanceConfig: "'cloud-init'",
  networkInstaller: "() => ({ kind: 'none', why: 'solaris has no installer labimg writes for' })",
  releases: '[]',
  freshInstall: "{ idLike: 'sun', fstab: [], swaps: '' }",
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
  const tableEnd = '\n  },\n};\n';
  t.is(families.split(tableEnd).length, 2, 'the table ends once, where the test adds an entry');
  const withEntry = (answers: Readonly<Record<string, string>>) =>
    families.replace(tableEnd, `\n  },\n  solaris: {\n${Object.entries(answers).map(([key, value]) => `    ${key}: ${value},`).join('\n')}\n  },\n};\n`);

  // The questions, as the compiler knows them: every property of OsFamilyTraits.
  const baseline = compileWith(setup, new Map());
  t.deepEqual(baseline.errors, [], 'labimg compiles as it is');
  const checker = baseline.program.getTypeChecker();
  const contract = baseline.program.getSourceFile(OS_FAMILIES_FILE);
  const traits = contract?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'OsFamilyTraits');
  t.truthy(traits);
  const questions = checker.getPropertiesOfType(checker.getTypeAtLocation(traits!)).map((p) => p.name).sort();
  t.deepEqual(Object.keys(SOLARIS).sort(), questions, 'the made-up family below answers exactly the questions the type asks');
  t.deepEqual(Object.keys(OS_FAMILIES).sort(), ['debian', 'flatcar', 'rhel']);

  // 1. A new name in the union, and no entry: the table itself does not compile.
  const noEntry = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris]]), baseline.program);
  t.true(
    noEntry.errors.some((e) => e.file === path.join('contract', 'os-families.ts') && /Property 'solaris' is missing/.test(e.text)),
    noEntry.errors.map((e) => `${e.file}: ${e.text}`).join('\n'),
  );

  // 2. An entry that answers two questions: refused, naming what is missing.
  const partial = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris], [OS_FAMILIES_FILE, withEntry({ packageFormat: SOLARIS.packageFormat!, packageManagers: SOLARIS.packageManagers! })]]), noEntry.program);
  const missing = partial.errors.find((e) => e.file === path.join('contract', 'os-families.ts') && /is missing the following properties from type 'OsFamilyTraits'/.test(e.text));
  t.truthy(missing, partial.errors.map((e) => `${e.file}: ${e.text}`).join('\n'));
  // TypeScript names the first few and counts the rest: together, every question but the two answered.
  const listed = /properties from type 'OsFamilyTraits': (.*?)(?:, and (\d+) more)?\.?$/m.exec(missing!.text);
  const named = (listed?.[1] ?? '').split(', ');
  t.true(named.every((name) => questions.includes(name) && name !== 'packageFormat' && name !== 'packageManagers'), missing!.text);
  t.is(named.length + Number(listed?.[2] ?? 0), questions.length - 2, missing!.text);

  // 3. Every question answered: labimg compiles again, agent and builder included, with nothing else changed.
  const complete = compileWith(setup, new Map([[AGENT_CONFIG, withSolaris], [OS_FAMILIES_FILE, withEntry(SOLARIS)]]), partial.program);
  t.deepEqual(complete.errors, []);
});

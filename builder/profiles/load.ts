/**
 * Finding profile files, following `extends`, and running the checks in order.
 *
 * Stages, each reporting everything it finds before the next runs:
 *   1. every file in the chain: YAML syntax, then its own structure (schema), then `extends` itself;
 *   2. the merged profile: what follows from its version and OS filled in (../derived-facts.ts), then fields still
 *      missing;
 *   3. the typed profile: semantic rules (versions, repositories, networks, images).
 * Later stages read typed values, so they only run on a profile the earlier ones passed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DERIVED_FIELDS, deriveFacts, versionFindings, type DerivedOrigin } from '../derived-facts';
import { applyMirror, effectiveMirror } from '../mirrors/apply';
import type { MirrorPresetName, MirrorSpec } from '../mirrors/types';
import { displayPath, findingAt, ProfileError, type Finding, type Location, type PathSegment } from './findings';
import { mergeChain } from './merge';
import { resolveProfile } from './resolve';
import { validateFileStructure, validateMergedCompleteness } from './schema';
import { checkSemantics } from './semantic';
import { EXTENSION, profileFile, ProfileReads } from './reads';
import { parseSource, type MapNode, type SourceNode } from './source';
import { didYouMean } from './suggest';
import { locate, nodeAt, toPlain } from './tree';
import type { Profile, ProfileSummary } from './types';

export interface LoadOptions {
  /** The profiles directory: where names are looked up, and where `extends` looks after the file's own directory. */
  dir: string;
  /** A mirror preset in place of the profile's own `mirror` (the command line's --mirror). */
  mirror?: MirrorPresetName;
}

/** One file of a chain, read and parsed. */
interface ProfileFile {
  name: string;
  /** Absolute path. */
  file: string;
  root: MapNode;
}

function profileNameOf(file: string): string {
  return path.basename(file, EXTENSION);
}

function namesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((entry) => entry.endsWith(EXTENSION))
    .map((entry) => entry.slice(0, -EXTENSION.length))
    .sort();
}

function scalarField(root: SourceNode | undefined, field: string): { value: unknown; at: Location } | undefined {
  if (root?.kind !== 'map') return undefined;
  const node = root.entries.get(field)?.node;
  return node?.kind === 'scalar' ? { value: node.value, at: node.at } : undefined;
}

/** Every *.yaml in `dir`, with what its own file says (no `extends` followed, nothing validated). */
export function listProfiles(dir: string): ProfileSummary[] {
  return namesIn(dir).map((name) => {
    const file = path.resolve(dir, `${name}${EXTENSION}`);
    const parsed = parseSource(readFileSync(file, 'utf8'), displayPath(file));
    const root = parsed.ok ? parsed.root : undefined;
    const description = scalarField(root, 'description')?.value;
    return {
      name,
      // A broken file is still listed, so `validate` can report what is wrong with it.
      description: typeof description === 'string' ? description : '',
      abstract: scalarField(root, 'abstract')?.value === true,
      file,
    };
  });
}

function notFound(ref: string, file: string, dir: string): ProfileError {
  const known = namesIn(dir);
  const hint = didYouMean(ref, known) || (known.length > 0 ? `; available: ${known.join(', ')}` : '');
  const where = displayPath(path.resolve(dir));
  return new ProfileError([{ file: displayPath(file), line: 1, column: 1, path: '', message: `no profile "${ref}" (looked for ${displayPath(file)} in ${where})${hint}` }]);
}

/** Reads one file into a located tree; problems go to `findings`. */
function readProfileFile(file: string, findings: Finding[], reads: ProfileReads): ProfileFile | undefined {
  const shown = displayPath(file);
  const parsed = parseSource(reads.text(file), shown);
  if (!parsed.ok) {
    findings.push(parsed.finding);
    return undefined;
  }
  if (parsed.root === undefined) {
    findings.push({ file: shown, line: 1, column: 1, path: '', message: 'the file is empty; a profile needs at least a description' });
    return undefined;
  }
  findings.push(...validateFileStructure(parsed.root));
  // A profile that only moves its parent (a version, a subnet) needs no words of its own; a root profile does.
  if (parsed.root.kind === 'map' && !parsed.root.entries.has('description') && !parsed.root.entries.has('extends')) {
    findings.push({ file: shown, line: 1, column: 1, path: 'description', message: 'is required in a profile that extends none: one line that says what it is' });
  }
  // The schema has already reported a root that is not a mapping.
  return parsed.root.kind === 'map' ? { name: profileNameOf(file), file, root: parsed.root } : undefined;
}

/** The parent's file: beside the child first, then in the profiles directory. */
function findParent(name: string, child: ProfileFile, dir: string, reads: ProfileReads): string | undefined {
  const candidates = [path.dirname(child.file), path.resolve(dir)].map((folder) => path.join(folder, `${name}${EXTENSION}`));
  return candidates.find((candidate) => reads.exists(candidate));
}

/** Follows `extends` from the file asked for to the most basic one; returns the chain most basic first. */
function readChain(leafFile: string, dir: string, findings: Finding[], reads: ProfileReads): ProfileFile[] {
  const chain: ProfileFile[] = [];
  let file: string | undefined = leafFile;
  while (file !== undefined) {
    const current = readProfileFile(file, findings, reads);
    if (!current) break;
    chain.push(current);
    file = undefined;

    const parent = scalarField(current.root, 'extends');
    // A non-string `extends` was reported by the schema.
    if (typeof parent?.value !== 'string') break;
    const parentFile = findParent(parent.value, current, dir, reads);
    if (parentFile === undefined) {
      const folders = [...new Set([path.dirname(current.file), path.resolve(dir)])].map(displayPath);
      const known = [...new Set(folders.flatMap((folder) => namesIn(folder)))];
      findings.push(findingAt(parent.at, ['extends'], `no profile "${parent.value}" in ${folders.join(' or ')}${didYouMean(parent.value, known)}`));
    } else if (chain.some((link) => link.file === parentFile)) {
      const cycle = [...chain.map((link) => link.name), profileNameOf(parentFile)];
      findings.push(findingAt(parent.at, ['extends'], `forms a cycle: ${cycle.join(' → ')}`));
    } else {
      file = parentFile;
    }
  }
  return chain.reverse();
}

function abstractFinding(leaf: ProfileFile): Finding {
  const key = leaf.root.entries.get('abstract');
  const at = key?.keyAt ?? leaf.root.at;
  return findingAt(at, ['abstract'], `"${leaf.name}" is a base for other profiles, not a machine: build a profile that extends it`);
}

/** The profile's own description, or for one without (it extends another) "<parent> with <file name>". */
function describe(leaf: ProfileFile, parent: ProfileFile | undefined): string {
  const own = scalarField(leaf.root, 'description')?.value;
  return typeof own === 'string' ? own : `${parent?.name ?? 'a profile'} with ${path.basename(leaf.file)}`;
}

/** A loaded profile with the tree it was read from: every value located, the derived ones with their rule. */
export interface ResolvedProfile {
  profile: Profile;
  /** The merged chain with the derived values, before any mirror. */
  tree: MapNode;
  derived: ReadonlyMap<SourceNode, DerivedOrigin>;
}

/**
 * A profile by name (in `options.dir`) or by path, with its `extends` chain merged and every check run.
 * Throws ProfileError with all findings of the first stage that has any.
 */
export function loadProfile(ref: string, options: LoadOptions): Profile {
  return loadResolvedProfile(ref, options).profile;
}

/**
 * loadProfile, keeping where each value came from (`labimg show --resolved`). `reads` gathers what the load read
 * of the disk (./cache.ts).
 */
export function loadResolvedProfile(ref: string, options: LoadOptions, reads = new ProfileReads()): ResolvedProfile {
  const leafFile = profileFile(ref, options.dir);
  if (!reads.exists(leafFile)) throw notFound(ref, leafFile, options.dir);

  const findings: Finding[] = [];
  const chain = readChain(leafFile, options.dir, findings, reads);
  if (findings.length > 0) throw new ProfileError(findings);
  const leaf = chain[chain.length - 1];
  if (leaf === undefined) throw new Error(`no profile was read from ${leafFile}`);
  if (scalarField(leaf.root, 'abstract')?.value === true) throw new ProfileError([abstractFinding(leaf)]);

  const { tree, derived, gaps } = deriveFacts(mergeChain(chain.map((link) => link.root)));
  const required = validateMergedCompleteness(tree, leaf.root);
  // A gap says why a derived field is missing; its "is required" would only repeat it.
  const missing = gaps.length > 0 ? [...gaps, ...required.filter((finding) => !DERIVED_FIELDS.includes(finding.path))] : required;
  if (missing.length > 0) throw new ProfileError(missing);

  const profile = resolveProfile(
    {
      name: leaf.name,
      file: leaf.file,
      description: describe(leaf, chain[chain.length - 2]),
      extendsChain: chain.slice(0, -1).map((link) => link.name).reverse(),
    },
    toPlain(tree),
  );
  const at = (fieldPath: readonly PathSegment[]) => locate(tree, fieldPath);
  // The rules read the profile as written; the mirror only moves where its downloads come from.
  const problems = checkSemantics(profile, at);
  const versionNode = nodeAt(tree, ['kubernetes', 'version']);
  if (problems.length > 0) throw new ProfileError(versionNode ? [...problems, ...versionFindings(problems, versionNode.at)] : problems);

  const mirror: MirrorSpec = options.mirror ? { preset: options.mirror, files: [], registries: {} } : profile.mirror;
  const mirrored = applyMirror({ ...profile, mirror }, effectiveMirror(mirror));
  if (mirrored.gaps.length > 0) throw new ProfileError(mirrored.gaps.map((gap) => findingAt(at(gap.path), gap.path, gap.message)));
  return { profile: mirrored.profile, tree, derived };
}

/**
 * Where each value of a loaded profile came from: the file and line that states it (the profile's own, or a
 * parent's along `extends`), or the rule that derived it (../derived-facts.ts). `labimg show --resolved` prints it.
 */
import { dump } from 'js-yaml';
import { computedFacts } from '../derived-facts';
import { formatPath, type PathSegment } from './findings';
import type { ResolvedProfile } from './load';
import { FILE_ONLY_FIELDS } from './merge';
import type { SourceNode } from './source';
import { toPlain } from './tree';

export interface ValueOrigin {
  /** Dotted field path, as findings name it. */
  path: string;
  /** The value in YAML flow style: a scalar, or a list of scalars on one line. */
  value: string;
  /** "profiles/rocky9.yaml:55", or "derived: <rule> (from profiles/rocky9.yaml:55)". */
  origin: string;
}

/** The value in YAML's flow style on one line, as js-yaml writes it: `9` the number, `"9"` the string, `[a, b]`. */
function flow(node: SourceNode): string {
  return dump(toPlain(node), { flowLevel: 0, lineWidth: -1, quoteStyle: 'double' }).trimEnd();
}

/** The sections in the order the schema documents them, whatever order the files of the chain wrote them in. */
const SECTION_ORDER = ['os', 'agent', 'image', 'host', 'repositories', 'runtime', 'kubernetes', 'cni', 'gpu', 'mirror'];
const sectionRank = (key: string): number => (SECTION_ORDER.includes(key) ? SECTION_ORDER.indexOf(key) : SECTION_ORDER.length);

const isScalarList = (node: SourceNode): boolean => node.kind === 'list' && node.items.every((item) => item.kind === 'scalar');

/** Every leaf (a scalar, or a list of scalars) with its origin, in the order the merged profile holds them. */
export function valueOrigins(resolved: ResolvedProfile): ValueOrigin[] {
  const rows: ValueOrigin[] = [];
  const describe = (node: SourceNode): string => {
    const derived = resolved.derived.get(node);
    const where = (at: { file: string; line: number }) => `${at.file}:${at.line}`;
    return derived ? `derived: ${derived.rule} (from ${where(derived.from)})` : where(node.at);
  };
  const visit = (node: SourceNode, path: PathSegment[]): void => {
    if (node.kind === 'scalar' || isScalarList(node) || (node.kind === 'map' && node.entries.size === 0)) {
      rows.push({ path: formatPath(path), value: node.kind === 'map' ? '{}' : flow(node), origin: describe(node) });
    } else if (node.kind === 'list') {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else {
      const entries = [...node.entries].filter(([key]) => path.length > 0 || !FILE_ONLY_FIELDS.includes(key));
      if (path.length === 0) entries.sort(([a], [b]) => sectionRank(a) - sectionRank(b));
      for (const [key, entry] of entries) visit(entry.node, [...path, key]);
    }
  };
  visit(resolved.tree, []);
  for (const fact of computedFacts(resolved.profile)) rows.push({ path: fact.path, value: fact.value, origin: `derived: ${fact.rule}` });
  return rows;
}

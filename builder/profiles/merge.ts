/**
 * `extends`: a profile is its parent with its own fields laid over it.
 *
 * Maps merge key by key, recursively; lists and scalars are replaced whole (merging lists by position
 * surprises everyone sooner or later). Because the trees carry their locations, every value in the
 * result still points at the file and line it came from, so a bad inherited value is reported in the
 * parent, where it can be fixed.
 */
import type { MapNode, SourceNode } from './source';

/** Fields that describe one file, not the machine: never inherited. */
export const FILE_ONLY_FIELDS: readonly string[] = ['description', 'extends', 'abstract'];

export function mergeNodes(base: SourceNode, override: SourceNode): SourceNode {
  if (base.kind !== 'map' || override.kind !== 'map') return override;
  const entries = new Map(base.entries);
  for (const [key, entry] of override.entries) {
    const inherited = entries.get(key);
    entries.set(key, inherited ? { keyAt: entry.keyAt, node: mergeNodes(inherited.node, entry.node) } : entry);
  }
  return { kind: 'map', at: override.at, entries };
}

function withoutFileOnlyFields(root: MapNode): MapNode {
  const entries = new Map([...root.entries].filter(([key]) => !FILE_ONLY_FIELDS.includes(key)));
  return { ...root, entries };
}

/** Lays each file over the one before it: `chain` runs from the most basic profile to the one asked for. */
export function mergeChain(chain: readonly MapNode[]): MapNode {
  const [first, ...rest] = chain;
  if (first === undefined) throw new Error('mergeChain needs at least one profile');
  let merged: MapNode = first;
  for (const next of rest) merged = mergeNodes(withoutFileOnlyFields(merged), next) as MapNode;
  return merged;
}

/**
 * Reading a located tree: its plain value (for the JSON Schema validator and the typed profile) and the
 * source location of any field path (for findings).
 */
import type { Location, PathSegment } from './findings';
import type { SourceNode } from './source';

export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

export function toPlain(node: SourceNode): PlainValue {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'list':
      return node.items.map(toPlain);
    case 'map': {
      // A null-prototype object: a key named "__proto__" in a profile stays an ordinary (unknown) key.
      const object: { [key: string]: PlainValue } = Object.create(null);
      for (const [key, entry] of node.entries) object[key] = toPlain(entry.node);
      return object;
    }
  }
}

function child(node: SourceNode, segment: PathSegment): SourceNode | undefined {
  if (node.kind === 'map' && typeof segment === 'string') return node.entries.get(segment)?.node;
  if (node.kind === 'list' && typeof segment === 'number') return node.items[segment];
  return undefined;
}

/** The node at `path`, if the document has one there. */
export function nodeAt(root: SourceNode, path: readonly PathSegment[]): SourceNode | undefined {
  let node: SourceNode | undefined = root;
  for (const segment of path) node = node === undefined ? undefined : child(node, segment);
  return node;
}

/**
 * Where the value at `path` was written. When the path leads past what exists (a missing field), the
 * deepest node that does exist answers: that is where the field should have been added.
 */
export function locate(root: SourceNode, path: readonly PathSegment[]): Location {
  let node = root;
  for (const segment of path) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next;
  }
  return node.at;
}

/** Where the key of a map entry was written (for unknown fields: point at the name, not its value). */
export function locateKey(root: SourceNode, path: readonly PathSegment[]): Location {
  const parent = nodeAt(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (parent?.kind === 'map' && typeof last === 'string') {
    const entry = parent.entries.get(last);
    if (entry) return entry.keyAt;
  }
  return locate(root, path);
}

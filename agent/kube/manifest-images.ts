/**
 * The image references inside an addon's manifest, moved onto the registries the mirror names for them
 * (AgentConfig.manifestImageRegistries), so that a runtime with no pull-through mirror for a registry still
 * pulls the addon from the mirror. Every `image` string in every document is looked at; a manifest with
 * nothing to move is returned as it came, byte for byte, so its CRDs and comments are never re-serialized.
 */
import { loadAll } from 'js-yaml';
import { splitRegistry } from '../../contract/image-reference';
import { manifestStream } from '../text/manifest-stream';

export type RegistryMoves = Readonly<Record<string, string>>;

/** `image` on the registry its own registry moves to; undefined when the table does not move it. */
export function movedImage(image: string, registries: RegistryMoves): string | undefined {
  // Already on a target (moved before, or named there by the manifest): moving again could chain moves.
  if (Object.values(registries).some((to) => image.startsWith(`${to}/`))) return undefined;
  const { registry, rest } = splitRegistry(image);
  const to = registries[registry];
  if (to === undefined || rest === '') return undefined;
  // Docker Hub's official images live under library/, which only their short names leave implicit.
  const path = registry === 'docker.io' && !rest.includes('/') ? `library/${rest}` : rest;
  return `${to}/${path}`;
}

export interface MovedManifest {
  text: string;
  /** Each reference that moved, as "from → to", in document order. */
  moved: string[];
}

function moveImagesIn(node: unknown, registries: RegistryMoves, moved: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) moveImagesIn(item, registries, moved);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (key === 'image' && typeof value === 'string') {
      const target = movedImage(value, registries);
      if (target !== undefined) {
        object[key] = target;
        moved.push(`${value} → ${target}`);
      }
    } else {
      moveImagesIn(value, registries, moved);
    }
  }
}

/**
 * The manifest with its images moved; `text` itself when none of them is on a registry the table moves.
 * Moving is idempotent: an image already on one of the table's targets stays where it is.
 */
export function moveManifestImages(text: string, registries: RegistryMoves): MovedManifest {
  if (Object.keys(registries).length === 0) return { text, moved: [] };
  const documents = loadAll(text).filter((document) => document !== null && document !== undefined);
  const moved: string[] = [];
  for (const document of documents) moveImagesIn(document, registries, moved);
  if (moved.length === 0) return { text, moved };
  // JSON keeps every string a string: "on" and "yes" are not read as booleans the way YAML 1.1 would.
  return { text: manifestStream(documents), moved };
}

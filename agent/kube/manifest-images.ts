/**
 * The image references inside an addon's manifest, moved onto the registries the mirror names for them
 * (AgentConfig.manifestImageRegistries), so that a runtime with no pull-through mirror for a registry still
 * pulls the addon from the mirror. Every `image` string in every object is looked at. The objects are the ones
 * kubectl itself read from the manifest (kubectl.ts, manifestObjects), so the agent parses no YAML.
 */
import { splitRegistry } from '../../contract/image-reference';

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
 * Moves, in place, every image of `objects` that is on a registry the table moves; returns each move as
 * "from → to", in object order. Idempotent: an image already on one of the table's targets stays where it is.
 */
export function moveObjectImages(objects: unknown[], registries: RegistryMoves): string[] {
  const moved: string[] = [];
  if (Object.keys(registries).length > 0) moveImagesIn(objects, registries, moved);
  return moved;
}

/** `labimg mirrors`: a preset's rules as a person reads them. */
import type { Mirror } from './types';

export function formatMirror(mirror: Mirror): string {
  const lines = [`${mirror.name}`];
  if (mirror.files.length === 0 && Object.keys(mirror.registries).length === 0) {
    lines.push('  every download from its own upstream host');
    return `${lines.join('\n')}\n`;
  }
  const width = Math.max(...mirror.files.map((rule) => rule.from.length), ...Object.keys(mirror.registries).map((registry) => registry.length));
  const by = (provider?: string) => (provider ? `  (${provider})` : '');
  lines.push('  files:');
  for (const rule of mirror.files) lines.push(`    ${rule.from.padEnd(width)}  →  ${rule.to}${by(rule.provider)}`);
  lines.push('  images:');
  for (const [registry, rule] of Object.entries(mirror.registries)) {
    const how = rule.samePaths ? `every pull (hosts.toml; ${registry === 'docker.io' ? "Docker's registry-mirrors" : "under Docker, moved in the addons' manifests"})` : "the references labimg writes; moved in the addons' manifests";
    lines.push(`    ${registry.padEnd(width)}  →  ${rule.to}  [${how}]${by(rule.provider)}`);
  }
  return `${lines.join('\n')}\n`;
}

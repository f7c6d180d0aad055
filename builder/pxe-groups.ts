/**
 * The PXE group file `labimg serve --pxe-groups` reads: which machine installs what, chosen by the MAC address
 * it boots from, as matchbox selects groups. YAML, checked like a profile: every problem in one run, each with
 * file, line, field and what was expected.
 *
 *   groups:
 *     - name: rack1-cp-1                 # the node name: host name and Kubernetes node name
 *       selector: { mac: "52:54:00:12:34:56" }
 *       profile: centos
 *       role: control-plane
 *       pool: rack1                      # optional: the pool it enrolls into (labimg pool create)
 *   sshAuthorizedKeys:                   # optional: who may log in, by key, as the distro's user
 *     - ssh-ed25519 AAAA… me@laptop
 */
import { readFileSync } from 'node:fs';
import { NODE_NAME_MAX, NODE_NAME_PATTERN, POOL_NAME_PATTERN } from '../contract/endpoint-api';
import type { PxeMachine } from '../contract/pxe-catalog';
import { compileAgentConfig } from './compile';
import { displayPath, FindingsError, findingAt, ProfileError, type Finding, type PathSegment } from './profiles/findings';
import { loadProfile } from './profiles/load';
import { schemaFindings } from './profiles/schema';
import { parseSource, type SourceNode } from './profiles/source';
import { locate, toPlain } from './profiles/tree';
import { newAjv } from './profiles/compile-validators';
import { isAuthorizedKeyLine, macFolderName, pxeUnavailable } from './render/pxe';

export interface PxeGroups {
  file: string;
  machines: PxeMachine[];
  sshAuthorizedKeys: string[];
}

const MAC = '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$';

const GROUPS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['groups'],
  properties: {
    groups: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'selector', 'profile', 'role'],
        properties: {
          name: { type: 'string', maxLength: NODE_NAME_MAX, pattern: NODE_NAME_PATTERN, patternErrorMessage: 'a node name: lowercase letters, digits, "-" and "."' },
          selector: {
            type: 'object',
            additionalProperties: false,
            required: ['mac'],
            properties: { mac: { type: 'string', pattern: MAC, patternErrorMessage: 'a MAC address such as 52:54:00:12:34:56 (quote it)' } },
          },
          profile: { type: 'string', minLength: 1 },
          role: { enum: ['control-plane', 'worker'] },
          pool: { type: 'string', maxLength: 63, pattern: POOL_NAME_PATTERN, patternErrorMessage: 'a pool name: lowercase letters, digits and "-"' },
        },
      },
    },
    sshAuthorizedKeys: { type: 'array', items: { type: 'string' } },
  },
} as const;

let validateGroups: ReturnType<ReturnType<typeof newAjv>['compile']> | undefined;

interface RawGroup {
  name: string;
  selector: { mac: string };
  profile: string;
  role: PxeMachine['role'];
  pool?: string;
}

/** Checks the typed file: MACs and names given once, keys that are keys, profiles that install over the network. */
function semanticFindings(root: SourceNode, groups: RawGroup[], keys: string[], profilesDir: string): Finding[] {
  const findings: Finding[] = [];
  const at = (path: PathSegment[], message: string) => findings.push(findingAt(locate(root, path), path, message));
  const macs = new Map<string, number>();
  const names = new Map<string, number>();
  const profiles = new Map<string, string | undefined>();
  groups.forEach((group, index) => {
    const mac = macFolderName(group.selector.mac);
    const earlierMac = macs.get(mac);
    if (earlierMac !== undefined) at(['groups', index, 'selector', 'mac'], `MAC ${group.selector.mac} is already selected by groups[${earlierMac}]`);
    else macs.set(mac, index);
    const earlierName = names.get(group.name);
    if (earlierName !== undefined) at(['groups', index, 'name'], `node name "${group.name}" is already taken by groups[${earlierName}]`);
    else names.set(group.name, index);
    if (!profiles.has(group.profile)) profiles.set(group.profile, whyNotInstallable(group.profile, profilesDir));
    const why = profiles.get(group.profile);
    if (why !== undefined) at(['groups', index, 'profile'], why);
  });
  keys.forEach((key, index) => {
    if (!isAuthorizedKeyLine(key)) at(['sshAuthorizedKeys', index], 'expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)');
  });
  return findings;
}

/** Why machines cannot be installed from `profile`, or undefined when they can. */
function whyNotInstallable(profile: string, profilesDir: string): string | undefined {
  try {
    const loaded = loadProfile(profile, { dir: profilesDir });
    const why = pxeUnavailable(compileAgentConfig(loaded).os, loaded.image);
    return why === undefined ? undefined : `profile ${profile} cannot be installed over the network: ${why}`;
  } catch (error) {
    if (error instanceof ProfileError) return `profile ${profile} does not load: ${error.findings[0]?.message ?? 'invalid'} (labimg validate ${profile})`;
    return `profile ${profile}: ${(error as Error).message}`;
  }
}

/** Reads and checks the group file; throws a FindingsError listing every problem. */
export function loadPxeGroups(file: string, profilesDir: string): PxeGroups {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FindingsError([{ file: shown, line: 1, column: 1, path: '', message: `cannot read the PXE group file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  const parsed = parseSource(text, shown);
  if (!parsed.ok) throw new FindingsError([parsed.finding]);
  if (!parsed.root) throw new FindingsError([{ file: shown, line: 1, column: 1, path: '', message: 'the PXE group file is empty; expected a groups: list' }]);
  validateGroups ??= newAjv().compile(GROUPS_SCHEMA);
  const structural = schemaFindings(parsed.root, validateGroups);
  if (structural.length > 0) throw new FindingsError(structural);

  const plain = toPlain(parsed.root) as unknown as { groups: RawGroup[]; sshAuthorizedKeys?: string[] };
  const keys = plain.sshAuthorizedKeys ?? [];
  const semantic = semanticFindings(parsed.root, plain.groups, keys, profilesDir);
  if (semantic.length > 0) throw new FindingsError(semantic);
  return {
    file,
    sshAuthorizedKeys: keys,
    machines: plain.groups.map((group) => ({
      mac: macFolderName(group.selector.mac),
      node: group.name,
      profile: group.profile,
      role: group.role,
      ...(group.pool !== undefined ? { pool: group.pool } : {}),
    })),
  };
}

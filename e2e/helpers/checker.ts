/**
 * The checker the end-to-end VMs run (e2e/guest/check.js), delivered as a --user-script: it installs itself
 * as a unit that waits for the agent, prints the facts the tests assert on to the console, and powers off.
 * And the reading of those facts back out of the console log.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { repoRoot } from '../../test/helpers/cli';

const CHECKER = '/usr/local/sbin/labimg-e2e-check.js';

/** A shell script for cloud-init: the checker and its unit, started now and on every later boot. */
export function checkerScript(extra: string[] = []): string {
  // One file for the guest's Node (Debian's nodejs 18), smol-toml included: the guest has no node_modules.
  const js = buildSync({
    entryPoints: [path.join(repoRoot, 'e2e', 'guest', 'check.js')],
    bundle: true,
    platform: 'node',
    target: 'node18',
    write: false,
  }).outputFiles[0]!.text;
  return `#!/bin/sh
# Installs the labimg end-to-end checker: after the agent's unit has finished, it reports and powers off.
set -eu
${extra.join('\n')}
mkdir -p /usr/local/sbin
cat > ${CHECKER} <<'LABIMG_E2E'
${js}LABIMG_E2E
cat > /etc/systemd/system/labimg-e2e-check.service <<'LABIMG_E2E'
[Unit]
Description=labimg end-to-end checker
# As the agent's unit: no implicit Before=multi-user.target, which would close a cycle through
# cloud-final.service (After=multi-user.target) and labimg-agent.service (After=cloud-final.service).
DefaultDependencies=no
Requires=sysinit.target
After=sysinit.target basic.target labimg-agent.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/bin/node ${CHECKER}

[Install]
WantedBy=multi-user.target
LABIMG_E2E
systemctl daemon-reload
systemctl enable labimg-e2e-check.service
systemctl start --no-block labimg-e2e-check.service
`;
}

export interface GuestFacts {
  agent: { activeState: string; result: string; status: string };
  agentState: { steps: Record<string, { phase: string; status: string; applied: number; error?: string }> } | null;
  modules: Record<string, boolean>;
  sysctls: Record<string, string>;
  swaps: string[];
  containerd: { active: string; systemdCgroup: boolean; sandboxImage: string | null; criPlugin: string | null; images: string[] };
  kubelet: { enabled: string; active: string };
  refreshTimer: string;
  calls: string[];
  initConfig: string | null;
  /** Each object kubectl created, and the manifest (path or URL) it came from. */
  created: Array<{ kind: string; name: string; namespace?: string; source: string }>;
  rebooted: boolean;
  boots: number;
  aptInstalls: string;
}

/** The facts the checker printed, from the console log; undefined when it printed none (it never got there). */
export function factsFrom(serialLog: string): GuestFacts | undefined {
  const chunks = new Map<number, string>();
  let total = 0;
  for (const match of readFileSync(serialLog, 'utf8').matchAll(/LABIMG-E2E-FACTS (\d+)\/(\d+) ([A-Za-z0-9+/=]+)/g)) {
    chunks.set(Number(match[1]), match[3] as string);
    total = Number(match[2]);
  }
  if (total === 0 || chunks.size !== total) return undefined;
  const encoded = Array.from({ length: total }, (_, i) => chunks.get(i + 1)).join('');
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as GuestFacts;
}

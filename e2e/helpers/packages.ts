/**
 * Kubernetes packages for the end-to-end VM: kubeadm, kubectl and kubelet at the profile's pinned version,
 * built with dpkg-deb around the guest stand-ins (e2e/guest), in a flat apt repository the test serves on
 * this host. The agent then installs them exactly as it would from pkgs.k8s.io: apt-get update, install
 * name=version, apt-mark hold.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { repoRoot } from '../../test/helpers/cli';

export interface Package {
  name: string;
  version: string;
  /** Node path → [content, mode]. */
  files: Record<string, [string, number]>;
  description: string;
}

/** A guest stand-in as one file for the guest's Node (Debian's nodejs 18); the host's tests run the same bundle. */
export function bundle(entry: string, defines: Record<string, string>): string {
  const result = buildSync({
    entryPoints: [path.join(repoRoot, 'e2e', 'guest', entry)],
    bundle: true,
    platform: 'node',
    target: 'node18',
    write: false,
    banner: { js: '#!/usr/bin/node' },
    define: Object.fromEntries(Object.entries(defines).map(([name, value]) => [name, JSON.stringify(value)])),
  });
  return result.outputFiles[0]!.text;
}

const KUBELET_UNIT = `[Unit]
Description=kubelet stand-in of the labimg end-to-end test
After=containerd.service

[Service]
ExecStart=/usr/bin/kubelet
Restart=always

[Install]
WantedBy=multi-user.target
`;

/**
 * `manifests`: URL → manifest text, what the kubectl stand-in serves for `kubectl create -f URL` (the only
 * URLs it answers; see e2e/guest/kubectl.ts).
 */
export function kubernetesPackages(version: string, revision: string, manifests: Record<string, string>): Package[] {
  const full = `${version}-${revision}`;
  return [
    { name: 'kubeadm', version: full, description: 'kubeadm stand-in', files: { '/usr/bin/kubeadm': [bundle('kubeadm.ts', { KUBEADM_VERSION: version }), 0o755] } },
    { name: 'kubectl', version: full, description: 'kubectl stand-in', files: { '/usr/bin/kubectl': [bundle('kubectl.ts', { MANIFESTS: JSON.stringify(manifests) }), 0o755] } },
    {
      name: 'kubelet',
      version: full,
      description: 'kubelet stand-in: runs and waits',
      files: { '/usr/bin/kubelet': ['#!/bin/sh\nexec sleep infinity\n', 0o755], '/lib/systemd/system/kubelet.service': [KUBELET_UNIT, 0o644] },
    },
  ];
}

function buildDeb(pkg: Package, dir: string): string {
  const root = path.join(dir, `${pkg.name}-root`);
  for (const [file, [content, mode]] of Object.entries(pkg.files)) {
    const target = path.join(root, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
    chmodSync(target, mode);
  }
  mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${pkg.name}\nVersion: ${pkg.version}\nArchitecture: amd64\nMaintainer: labimg tests <tests@labimg.invalid>\nDescription: ${pkg.description}\n`,
  );
  const deb = path.join(dir, `${pkg.name}_${pkg.version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' });
  return deb;
}

const digest = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');

/**
 * A flat repository (`deb [trusted=yes] URL /`) in `dir`: the .debs, their Packages index and a Release file
 * with its checksums, which apt wants even from a repository it is told to trust.
 */
export function writeFlatRepository(dir: string, packages: Package[]): void {
  mkdirSync(dir, { recursive: true });
  const stanzas = packages.map((pkg) => {
    const deb = buildDeb(pkg, dir);
    const bytes = readFileSync(deb);
    const control = execFileSync('dpkg-deb', ['--field', deb], { encoding: 'utf8' }).trimEnd();
    return `${control}\nFilename: ./${path.basename(deb)}\nSize: ${bytes.length}\nSHA256: ${digest('sha256', bytes)}\n`;
  });
  const index = Buffer.from(`${stanzas.join('\n')}`);
  writeFileSync(path.join(dir, 'Packages'), index);
  writeFileSync(
    path.join(dir, 'Release'),
    `Origin: labimg-e2e\nLabel: labimg-e2e\nDate: ${new Date().toUTCString()}\nSHA256:\n ${digest('sha256', index)} ${index.length} Packages\n`,
  );
  for (const entry of readdirSync(dir)) if (entry.endsWith('-root')) execFileSync('rm', ['-rf', path.join(dir, entry)]);
}

/**
 * This host's side of the end-to-end tests: the Kubernetes stand-in packages and the Node.js tarball on a
 * plain HTTP server (an online VM reaches it at FILES_IN_GUEST), a real `labimg serve` with a pool, and
 * the profile the VMs boot: debian12's own file with those two sources and one more change (e2eProfile).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { dump, load } from 'js-yaml';
import type { GuestForward } from '../../vm/qemu';
import { loadProfile, type Profile } from '../../builder/profiles';
import { cliPath, repoRoot, tempDir } from '../../test/helpers/cli';
import { manifestDownloads } from '../../test/helpers/agent-machine';
import { createPool, createPoolToken, freePort, startServe, type RunningServe } from '../../test/helpers/endpoint';
import { kubernetesPackages, writeFlatRepository } from './packages';

/** Where the VM reaches this host (qemu's user-mode network), and the address offline VMs reach the endpoint at. */
export const HOST_FROM_GUEST = '10.0.2.2';
export const ENDPOINT_IN_OFFLINE_GUEST = '10.0.2.100:8443';
/**
 * Where an online VM reaches this host's files: a fixed guest address forwarded to the file server's
 * random port. The profile names it, so the build (and the baked image, cached by a hash of the build) is
 * the same from one run to the next. Offline VMs get no such forward: a baked image must download nothing.
 */
export const FILES_IN_GUEST = '10.0.2.101:8080';

export interface World {
  profileFile: string;
  /** The profile of profileFile, loaded: what the VMs must end up with. */
  profile: Profile;
  endpoint: RunningServe;
  data: string;
  /**
   * Enrollment flags for `labimg boot`, for a VM that reaches the endpoint at `address` (host:port), into `pool`.
   * Each control plane the suite boots is a cluster of its own, so each gets a pool of its own: a pool's join
   * material keeps the API server and CA it was first published with.
   */
  enrollmentFlags(address: string, pool: string): string[];
  /** `labimg boot` flags of a VM on qemu's network, reaching the mirror, this host's files and the endpoint. */
  onlineFlags(pool: string): string[];
  /** `labimg boot` flags of a VM that reaches nothing but the endpoint, at ENDPOINT_IN_OFFLINE_GUEST. */
  offlineFlags(pool: string): string[];
  /** The forward that lets a VM (an online one, the bake) reach this host's files at FILES_IN_GUEST. */
  filesForward: GuestForward;
  /** `labimg build` of the profile into a fresh folder; the folder of its files. */
  build(): string;
  close(): Promise<void>;
}

function serveFiles(root: string): Promise<Server> {
  const server = createServer((request, response) => {
    const file = path.join(root, path.normalize(decodeURIComponent((request.url ?? '/').split('?')[0] as string)).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': String(statSync(file).size) });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * debian12 as shipped, but for where three things come from:
 * - Kubernetes: stand-in packages from this host, at the profile's pinned version;
 * - Node.js: the profile's tarball, from this host;
 * - the runtime: Debian's own containerd, because Docker's repository (debian12's containerd.io) is out of
 *   this VM's reach. That is containerd 1.6.20 with config version 2, which containerd does not recommend
 *   for Kubernetes 1.35; the kubelet here is a stand-in that runs no pods, so nothing in the VM depends on
 *   that pairing. debian12's own runtime (containerd.io 2.x, config version 3) is checked by the agent tests.
 * Written from debian12's file rather than extending it: `extends` cannot take the docker-ce repository
 * or the containerd.io package away. What debian12 leaves to be derived from its version (the kubernetes
 * repository's fields, the kubelet/kubeadm/kubectl pins: builder/derived-facts.ts) is taken from its resolved
 * profile and written out: this profile moves the repository off pkgs.k8s.io, from whose URL they would follow.
 */
function e2eProfile(base: Profile, httpBase: string, tarball: string, manifests: Record<string, string>): string {
  const shipped = load(readFileSync(path.join(repoRoot, 'profiles', 'debian12.yaml'), 'utf8')) as Record<string, any>;
  const { 'docker-ce': _dockerRepository, ...repositories } = shipped.repositories as Record<string, Record<string, unknown>>;
  const { suite, components } = base.repositories[base.kubernetes.repository as string] ?? {};
  const profile = {
    ...shipped,
    description: "debian12 as shipped, with Kubernetes (stand-ins) and Node.js from the test's host and Debian's containerd",
    agent: { ...shipped.agent, nodeRuntime: { source: base.agent.nodeRuntime.source, url: `${httpBase}/${tarball}` } },
    // The addon manifests: the agent tests' fixtures, from this host, pinned to their own bytes.
    cni: { ...shipped.cni, manifests: Object.entries(manifests).map(([url, content]) => ({ url: `${httpBase}/manifests/${path.basename(url)}`, sha256: createHash('sha256').update(content).digest('hex') })) },
    repositories: {
      ...repositories,
      kubernetes: {
        name: 'Kubernetes stand-ins of the labimg end-to-end tests',
        baseUrl: `${httpBase}/debian/`,
        gpgKeys: [],
        gpgCheck: false,
        ...(suite !== undefined ? { suite } : {}),
        ...(components !== undefined ? { components } : {}),
      },
    },
    runtime: {
      ...shipped.runtime,
      removePackages: ['docker.io', 'containerd.io', 'docker-ce'],
      packages: { containerd: null },
      containerd: { ...shipped.runtime.containerd, configVersion: 2 },
    },
    kubernetes: { ...shipped.kubernetes, repository: 'kubernetes', packages: { ...base.kubernetes.packages } },
  };
  return dump(profile, { lineWidth: -1 });
}

export async function startWorld(): Promise<World> {
  const base = loadProfile('debian12', { dir: path.join(repoRoot, 'profiles') });
  const [version, revision] = (base.kubernetes.packages.kubeadm as string).split('-') as [string, string];
  const files = tempDir('labimg-e2e-files-');
  // What kubectl is given to create: the profile's addon manifests, served from the agent tests' fixtures, which
  // the agent downloads and checks before kubectl reads them.
  const manifests = manifestDownloads(base.cni.manifests.map(({ url }) => url));
  mkdirSync(path.join(files, 'manifests'));
  for (const [url, content] of Object.entries(manifests)) writeFileSync(path.join(files, 'manifests', path.basename(url)), content);
  writeFlatRepository(path.join(files, 'debian'), kubernetesPackages(version, revision, manifests));
  const tarball = path.basename(new URL(base.agent.nodeRuntime.url).pathname);
  const cached = path.join(repoRoot, '.cache', tarball);
  if (!existsSync(cached)) throw new Error(`${cached} is missing: the test command fetches it (node scripts/fetch-node-runtime.mjs)`);
  copyFileSync(cached, path.join(files, tarball));
  const http = await serveFiles(files);
  const httpBase = `http://${FILES_IN_GUEST}`;
  const filesForward: GuestForward = { guest: FILES_IN_GUEST, hostPort: (http.address() as AddressInfo).port };

  const profiles = tempDir('labimg-e2e-profiles-');
  const profileFile = path.join(profiles, 'debian12-e2e.yaml');
  writeFileSync(profileFile, e2eProfile(base, httpBase, tarball, manifests));
  const profile = loadProfile(profileFile, { dir: path.join(repoRoot, 'profiles') });

  const data = path.join(tempDir('labimg-e2e-endpoint-'), 'data');
  mkdirSync(data);
  const port = await freePort();
  const endpoint = await startServe({ data, port, extraArgs: ['--name', HOST_FROM_GUEST, '--name', ENDPOINT_IN_OFFLINE_GUEST.split(':')[0] as string] });
  const tokens = tempDir('labimg-e2e-token-');
  const pools = new Map<string, { worker: string; controlPlane: string }>();
  /** The pool's token files, made with the README's commands the first time a VM asks for the pool. */
  const tokenFilesOf = (pool: string) => {
    let files = pools.get(pool);
    if (!files) {
      files = { worker: path.join(tokens, `${pool}.token`), controlPlane: path.join(tokens, `${pool}-cp.token`) };
      writeFileSync(files.worker, `${createPool({ data }, pool, 'debian12')}\n`, { mode: 0o600 });
      // The control plane's own token: the worker token enrolls workers only. A VM that reboots enrolls once.
      writeFileSync(files.controlPlane, `${createPoolToken({ data }, pool, ['--role', 'control-plane'])}\n`, { mode: 0o600 });
      pools.set(pool, files);
    }
    return files;
  };
  const enrollmentFlags = (address: string, pool: string) => [
    '--endpoint', `https://${address}`,
    '--endpoint-ca-fingerprint', endpoint.caFingerprint,
    '--pool', pool,
    '--enrollment-token-file', tokenFilesOf(pool).worker,
    '--control-plane-token-file', tokenFilesOf(pool).controlPlane,
  ];
  return {
    profileFile,
    profile,
    endpoint,
    data,
    enrollmentFlags,
    filesForward,
    onlineFlags: (pool) => [...enrollmentFlags(`${HOST_FROM_GUEST}:${endpoint.port}`, pool), '--guest-forward', `${filesForward.guest}=${filesForward.hostPort}`],
    offlineFlags: (pool) => [...enrollmentFlags(ENDPOINT_IN_OFFLINE_GUEST, pool), '--offline', '--guest-forward', `${ENDPOINT_IN_OFFLINE_GUEST}=${endpoint.port}`],
    build() {
      const out = tempDir('labimg-e2e-build-');
      const build = spawnSync(process.execPath, [cliPath, 'build', profileFile, '--out', out], { encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`labimg build ${profileFile} failed (exit ${build.status}):\n${build.stderr}`);
      return path.join(out, path.basename(profileFile, '.yaml'));
    },
    async close() {
      await endpoint.kill();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/**
 * The mirror presets: for each upstream a profile downloads from, where the preset fetches it instead.
 *
 * A preset maps only what its provider is known to carry; anything else a profile names is reported as
 * outside the mirror (see apply.ts), never fetched from upstream behind the user's back. Where Aliyun has
 * no public mirror (GitHub files and the registries other than kubeadm's), the aliyun preset says so and
 * uses DaoCloud's public proxies, which exist for exactly that; a profile that must stay on Aliyun replaces
 * those rows with its own OSS bucket or Container Registry namespace under `mirror.files` / `mirror.registries`.
 *
 * Layouts:
 * - Aliyun copies pkgs.k8s.io without the colons (kubernetes-new/core/stable/v1.35/rpm/), and docker-ce,
 *   libnvidia-container, nvidia-cuda, epel, rockylinux, the CentOS vault and the Ubuntu image trees as their upstreams
 *   lay them out.
 * - npmmirror (run by Alibaba) serves the npm registry's tarballs at the same paths, so the Node runtime's
 *   sha256 does not change.
 * - registry.aliyuncs.com/google_containers holds kubeadm's images in one flat namespace, CoreDNS included:
 *   kubeadm's imageRepository can point there, containerd's hosts.toml cannot.
 * - Evidence: docker-ce on Aliyun and DaoCloud's proxies are documented by their providers; the other Aliyun
 *   trees, npmmirror's npm layout and DaoCloud's proxy carrying whole package repositories were seen in
 *   many public scripts but could not be fetched from here. A layout that changes is one row to fix.
 * - DaoCloud's file proxy takes any URL with "https://" replaced by its own host
 *   (files.m.daocloud.io/raw.githubusercontent.com/...), and each of its registry hosts proxies one upstream
 *   registry at the same paths (quay.m.daocloud.io serves quay.io); it refuses a request meant for another one.
 */
import type { FileRule, Mirror, MirrorPresetName, RegistryRule } from './types';

const ALIYUN = 'Aliyun';
const NPMMIRROR = 'npmmirror, run by Alibaba';
const DAOCLOUD = 'DaoCloud';

const DAOCLOUD_FILE_PROXY = 'https://files.m.daocloud.io/';

/** DaoCloud's registry proxies, one host per upstream registry. */
const DAOCLOUD_REGISTRIES: Readonly<Record<string, string>> = {
  'registry.k8s.io': 'k8s.m.daocloud.io',
  'docker.io': 'docker.m.daocloud.io',
  'quay.io': 'quay.m.daocloud.io',
  'ghcr.io': 'ghcr.m.daocloud.io',
  'nvcr.io': 'nvcr.m.daocloud.io',
  'gcr.io': 'gcr.m.daocloud.io',
};

const daocloudRegistries = (only?: readonly string[]): Record<string, RegistryRule> =>
  Object.fromEntries(
    Object.entries(DAOCLOUD_REGISTRIES)
      .filter(([upstream]) => only === undefined || only.includes(upstream))
      .map(([upstream, host]) => [upstream, { to: host, samePaths: true, provider: DAOCLOUD }]),
  );

/** Hosts whose files go through DaoCloud's proxy under the aliyun preset (Aliyun mirrors none of them). */
const GITHUB_AND_K8S_RELEASES = ['https://raw.githubusercontent.com/', 'https://github.com/', 'https://dl.k8s.io/'];

const aliyunFiles: FileRule[] = [
  { from: 'https://pkgs.k8s.io/core:/stable:/', to: 'https://mirrors.aliyun.com/kubernetes-new/core/stable/', provider: ALIYUN },
  { from: 'https://download.docker.com/linux/', to: 'https://mirrors.aliyun.com/docker-ce/linux/', provider: ALIYUN },
  { from: 'https://nvidia.github.io/libnvidia-container/', to: 'https://mirrors.aliyun.com/libnvidia-container/', provider: ALIYUN },
  { from: 'https://developer.download.nvidia.com/compute/cuda/repos/', to: 'https://mirrors.aliyun.com/nvidia-cuda/', provider: ALIYUN },
  { from: 'https://dl.fedoraproject.org/pub/epel/', to: 'https://mirrors.aliyun.com/epel/', provider: ALIYUN },
  { from: 'https://dl.rockylinux.org/pub/rocky/', to: 'https://mirrors.aliyun.com/rockylinux/', provider: ALIYUN },
  // CentOS's retired trees (7.9.2009/os/x86_64/...), as the seed lab's kickstart has always fetched them.
  { from: 'https://vault.centos.org/', to: 'https://mirrors.aliyun.com/centos-vault/', provider: ALIYUN },
  { from: 'https://cloud-images.ubuntu.com/', to: 'https://mirrors.aliyun.com/ubuntu-cloud-images/', provider: ALIYUN },
  { from: 'https://releases.ubuntu.com/', to: 'https://mirrors.aliyun.com/ubuntu-releases/', provider: ALIYUN },
  { from: 'https://deb.debian.org/debian/', to: 'https://mirrors.aliyun.com/debian/', provider: ALIYUN },
  { from: 'https://registry.npmjs.org/', to: 'https://registry.npmmirror.com/', provider: NPMMIRROR },
  ...GITHUB_AND_K8S_RELEASES.map((from) => ({ from, to: `${DAOCLOUD_FILE_PROXY}${from.slice('https://'.length)}`, provider: DAOCLOUD })),
];

export const MIRROR_PRESETS: Readonly<Record<MirrorPresetName, Mirror>> = {
  upstream: { name: 'upstream', files: [], registries: {} },
  aliyun: {
    name: 'aliyun',
    files: aliyunFiles,
    registries: {
      'registry.k8s.io': { to: 'registry.aliyuncs.com/google_containers', samePaths: false, provider: ALIYUN },
      ...daocloudRegistries(['docker.io', 'quay.io', 'ghcr.io', 'nvcr.io', 'gcr.io']),
    },
  },
  daocloud: {
    name: 'daocloud',
    // DaoCloud runs no package mirror of its own: its file proxy carries every https download, packages too.
    files: [{ from: 'https://', to: DAOCLOUD_FILE_PROXY, provider: DAOCLOUD }],
    registries: daocloudRegistries(),
  },
};

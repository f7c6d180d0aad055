import { ROLES, type AgentConfig, type IdentityProvider, type NodeConfig, type NodeNameSource, type NodeSecrets, type Role } from '../contract/agent-config';
import { OS_FAMILIES } from '../contract/os-families';
import { buildManifest } from './manifest';
import type { AgentSource } from './render/agent-fetcher';
import type { AutoscalingCloud } from './render/autoscaling/scaling-group';
import { bakeLists, buildFolderName, renderPackerVars, type PackerVarsInputs } from './render/packer';
import { renderCloudInitUserData } from './render/cloud-init';
import { renderIgnitionConfig } from './render/ignition';
import { renderMultipart, type MimePart } from './render/mime';
import { carrierMode, imageFiles, toJsonFile } from './render/node-files';
import { installerFiles, pxeNodeUrl, renderInstallerFile, renderPxeFile, type InstallInputs } from './render/pxe';
import { textFile, type NodeRuntime, type RenderedFile } from './render/types';

/**
 * What a worker needs to join without a join endpoint: what a person would paste from `kubeadm init`'s output.
 */
export interface JoinMaterial {
  apiServerEndpoint: string;
  caCertHashes: string[];
  token: string;
}

/**
 * What a node needs to enroll with a join endpoint: where it is, which CA to trust, which pool, and the token of
 * its role. The endpoint grants a role by the token, never by what the node says, so each role's instance
 * config carries its own: a worker's user-data holds nothing that enrolls a control plane.
 */
export interface Enrollment {
  url: string;
  caFingerprint: string;
  pool: string;
  tokens: Partial<Record<Role, string>>;
  /**
   * Workers enroll by this cloud's signed instance identity document instead of a token: their configs name
   * the source (node.json's endpoint.identity) and carry no enrollment token. Control planes still need theirs.
   */
  identity?: IdentityProvider;
}

/** What a control plane's node.json says about its own network and the tokens it publishes (NodeConfig's fields). */
export interface ControlPlaneSettings {
  advertiseNetwork?: string;
  bootstrapTokenTtlSeconds?: number;
}

export interface BuildInputs {
  profileName: string;
  agentConfig: AgentConfig;
  nodeRuntime: NodeRuntime;
  agentBundle: Buffer;
  labimgVersion: string;
  join?: JoinMaterial;
  /** Nodes enroll with a join endpoint instead: each role it has a token for carries its URL, CA pin, pool and that token. */
  enrollment?: Enrollment;
  /** Written into control planes' node.json only: workers neither advertise an API server nor publish tokens. */
  controlPlane?: ControlPlaneSettings;
  /** Where nodes take their names from (builder/node-naming.ts); their hostnames when absent. */
  nameFrom?: NodeNameSource;
  /** Where stub user-data fetches the agent; without one no stub is written. */
  agentSource?: AgentSource;
  /** The profile's base images and where the build and the Packer template live: the Packer vars file. */
  packer?: PackerVarsInputs;
  /** The profile's network install, for profiles that have one: the pxe/ folder. */
  pxe?: PxeBuildInputs;
  /** The user's own shell scripts: each user-data also as multipart MIME that carries them. */
  userScripts?: readonly UserScript[];
  /**
   * The workers are launched by this cloud's scaling group (`labimg build --autoscaling`): the node config may
   * say so (how a worker names itself, for one). The scaling files themselves are rendered by render/autoscaling/.
   */
  autoscaling?: { cloud: AutoscalingCloud };
}

export interface UserScript {
  filename: string;
  content: string;
}

export interface PxeBuildInputs {
  image: InstallInputs['image'];
  /** Where the build's pxe/ folder will be served; without it there is no boot.ipxe, which must name URLs. */
  base?: string;
  sshAuthorizedKeys?: readonly string[];
}

export { ROLES };

/**
 * The roles a build writes instance configs for: both, or with a pool those it can enroll: the ones whose
 * enrollment token it has, and workers where they enroll by identity document.
 */
export function rolesOf(enrollment?: Enrollment): Role[] {
  return ROLES.filter((role) => enrollment === undefined || enrollment.tokens[role] !== undefined || enrollsByIdentity(role, enrollment));
}

/** Whether nodes of `role` enroll by their cloud's identity document: workers of a pool built with one. */
export function enrollsByIdentity(role: Role, enrollment?: Enrollment): boolean {
  return role === 'worker' && enrollment?.identity !== undefined;
}

export function nodeConfigFor(role: Role, join?: JoinMaterial, enrollment?: Enrollment, controlPlane?: ControlPlaneSettings, nameFrom?: NodeNameSource): NodeConfig {
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role };
  // A worker that enrolls by identity document is named after its instance id by the agent in any case.
  if (nameFrom && !enrollsByIdentity(role, enrollment)) node.nameFrom = nameFrom;
  if (role === 'control-plane' && controlPlane?.advertiseNetwork !== undefined) node.advertiseNetwork = controlPlane.advertiseNetwork;
  if (role === 'control-plane' && controlPlane?.bootstrapTokenTtlSeconds !== undefined) node.bootstrapTokenTtlSeconds = controlPlane.bootstrapTokenTtlSeconds;
  if (enrollment) {
    node.pool = enrollment.pool;
    node.endpoint = { url: enrollment.url, caFingerprint: enrollment.caFingerprint };
    if (enrollsByIdentity(role, enrollment)) node.endpoint.identity = { provider: enrollment.identity as IdentityProvider };
  }
  if (role === 'worker' && join) {
    node.join = { apiServerEndpoint: join.apiServerEndpoint, caCertHashes: join.caCertHashes };
  }
  return node;
}

export function secretsFor(role: Role, join?: JoinMaterial, enrollment?: Enrollment): NodeSecrets | undefined {
  const secrets: NodeSecrets = {};
  if (role === 'worker' && join) secrets.bootstrapToken = join.token;
  // A worker vouched for by its identity document carries no token at all: its user-data holds no secret.
  if (!enrollsByIdentity(role, enrollment)) {
    const token = enrollment?.tokens[role];
    if (enrollment && token === undefined) throw new Error(`no ${role} enrollment token for pool ${enrollment.pool}`);
    if (token !== undefined) secrets.enrollmentToken = token;
  }
  return Object.keys(secrets).length > 0 ? secrets : undefined;
}

/** What one role's instance config carries: the same for cloud-init, Ignition and the PXE installers. */
function instanceInputs(inputs: BuildInputs, role: Role): Omit<InstallInputs, 'image'> {
  return {
    agentConfig: inputs.agentConfig,
    node: nodeConfigFor(role, inputs.join, inputs.enrollment, inputs.controlPlane, inputs.nameFrom),
    secrets: secretsFor(role, inputs.join, inputs.enrollment),
    agentBundle: inputs.agentBundle,
    nodeRuntime: inputs.nodeRuntime,
  };
}

/** Whether the profile's OS boots with cloud-init; one that takes its instance config from Ignition alone (Flatcar) gets no user-data. */
export function bootsWithCloudInit(config: AgentConfig): boolean {
  return OS_FAMILIES[config.os.family].instanceConfig === 'cloud-init';
}

export function renderUserData(inputs: BuildInputs, role: Role): RenderedFile {
  const instance = instanceInputs(inputs, role);
  return textFile(`user-data-${role}.yaml`, renderCloudInitUserData(instance), carrierMode(instance));
}

/** User-data without the agent in it, small enough for EC2: it fetches agent.js from `source` and checks its sha256. */
export function renderStubUserData(inputs: BuildInputs, role: Role, source: AgentSource): RenderedFile {
  const instance = instanceInputs(inputs, role);
  return textFile(`user-data-${role}-stub.yaml`, renderCloudInitUserData(instance, source), carrierMode(instance));
}

/** `cloudConfig` and the user's scripts as one multipart MIME user-data, named like the cloud-config with .mime. */
function withUserScripts(cloudConfig: RenderedFile, scripts: readonly UserScript[]): RenderedFile {
  const parts: MimePart[] = [
    { type: 'text/cloud-config', filename: 'labimg.yaml', content: cloudConfig.content.toString('utf8') },
    ...scripts.map((script): MimePart => ({ type: 'text/x-shellscript', filename: script.filename, content: script.content })),
  ];
  return textFile(cloudConfig.name.replace(/\.yaml$/, '.mime'), renderMultipart(parts), cloudConfig.mode);
}

export function renderIgnition(inputs: BuildInputs, role: Role): RenderedFile {
  const instance = instanceInputs(inputs, role);
  return textFile(`ignition-${role}.json`, renderIgnitionConfig(instance), carrierMode(instance));
}

/**
 * The Ignition config without the agent in it, which Ignition fetches from `source` against its sha256.
 * Ignition checks TLS against the system's CAs only, so the join endpoint, whose CA nodes know by
 * fingerprint alone, cannot serve it: only a source the user hosts (--agent-url) does.
 */
export function ignitionStubSource(source: AgentSource | undefined): AgentSource | undefined {
  return source && !source.unverifiedTransport ? source : undefined;
}

export function renderIgnitionStub(inputs: BuildInputs, role: Role, source: AgentSource): RenderedFile {
  const instance = instanceInputs(inputs, role);
  return textFile(`ignition-${role}-stub.json`, renderIgnitionConfig(instance, source), carrierMode(instance));
}

/**
 * pxe/nodes/ROLE/: the installer config of each role (kickstart.cfg, or autoinstall user-data and meta-data),
 * and with a base URL the iPXE script that installs from it. One folder serves every machine of the role.
 */
export function renderPxeBuild(inputs: BuildInputs, pxe: PxeBuildInputs): RenderedFile[] {
  return rolesOf(inputs.enrollment).flatMap((role) => {
    const install = { ...instanceInputs(inputs, role), image: pxe.image, sshAuthorizedKeys: pxe.sshAuthorizedKeys };
    const files = installerFiles(inputs.agentConfig.os).map((name) => renderInstallerFile(install, name));
    if (pxe.base !== undefined) files.unshift(renderPxeFile({ ...install, pxeBase: pxe.base, nodeUrl: pxeNodeUrl(pxe.base, role) }, 'boot.ipxe'));
    return files.map((file) => ({ ...file, name: `pxe/nodes/${role}/${file.name}` }));
  });
}

/** Everything `labimg build` writes for one profile, manifest last. Pure: same inputs, same bytes. */
export function renderBuild(inputs: BuildInputs): RenderedFile[] {
  const cloudInit = bootsWithCloudInit(inputs.agentConfig);
  const roles = rolesOf(inputs.enrollment);
  const userData = cloudInit
    ? [
        ...roles.map((role) => renderUserData(inputs, role)),
        ...(inputs.agentSource ? roles.map((role) => renderStubUserData(inputs, role, inputs.agentSource as AgentSource)) : []),
      ]
    : [];
  const scripts = inputs.userScripts ?? [];
  const baked = imageFiles(inputs);
  const files: RenderedFile[] = [
    // What a bake uploads and installs (packer/), each named after its path on the node.
    ...baked.map((file): RenderedFile => ({ name: buildFolderName(file), content: file.content, mode: file.mode })),
    ...userData,
    ...(scripts.length > 0 ? userData.map((file) => withUserScripts(file, scripts)) : []),
    ...roles.map((role) => renderIgnition(inputs, role)),
    ...roles.flatMap((role) => {
      const source = ignitionStubSource(inputs.agentSource);
      return source ? [renderIgnitionStub(inputs, role, source)] : [];
    }),
    ...(inputs.packer ? renderPackerVars(inputs.packer, bakeLists(baked)) : []),
    ...(inputs.pxe ? renderPxeBuild(inputs, inputs.pxe) : []),
  ];
  const manifest = buildManifest(inputs.profileName, inputs.labimgVersion, files);
  return [...files, textFile('manifest.json', toJsonFile(manifest))];
}

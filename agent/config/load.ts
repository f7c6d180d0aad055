/**
 * Reads the three node files and refuses what this agent does not understand. The AgentConfig is compiled by
 * the builder, so only its header and the fields every step relies on are checked here; a config from a newer
 * builder is refused by its version rather than half-applied.
 */
import { AGENT_CONFIG_VERSION, AgentConfig, IdentityProvider, NodeConfig, NodeSecrets } from '../../contract/agent-config';
import type { Host } from '../host/host';
import type { Logger } from '../log';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const API_VERSION = 'labimg.dev/v1';

async function readJson(host: Host, file: string, what: string): Promise<unknown | undefined> {
  const text = await host.readFile(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message}); expected the ${what}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validateAgentConfig(value: unknown, file: string): AgentConfig {
  if (!isObject(value)) throw new ConfigError(`${file}: expected a JSON object (an AgentConfig)`);
  const { apiVersion, kind, version } = value;
  if (apiVersion !== API_VERSION || kind !== 'AgentConfig' || version !== AGENT_CONFIG_VERSION) {
    throw new ConfigError(
      `${file}: this agent reads apiVersion ${API_VERSION}, kind AgentConfig, version ${AGENT_CONFIG_VERSION}; ` +
        `the file has apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}, version ${JSON.stringify(version)}. ` +
        'Rebuild the image (or re-render the user-data) with the labimg release that wrote this config, so agent and config match.',
    );
  }
  const missing = ['profile', 'os', 'host', 'repositories', 'runtime', 'kubernetes', 'cni'].filter((key) => value[key] === undefined);
  if (missing.length > 0) throw new ConfigError(`${file}: AgentConfig is missing ${missing.join(', ')}`);
  return value as unknown as AgentConfig;
}

export function validateNodeConfig(value: unknown, file: string): NodeConfig {
  if (!isObject(value) || value.apiVersion !== API_VERSION || value.kind !== 'NodeConfig') {
    throw new ConfigError(`${file}: expected {"apiVersion": "${API_VERSION}", "kind": "NodeConfig", "role": ...}`);
  }
  if (value.role !== 'control-plane' && value.role !== 'worker') {
    throw new ConfigError(`${file}: role must be "control-plane" or "worker", got ${JSON.stringify(value.role)}`);
  }
  if (isObject(value.endpoint) && value.endpoint.identity !== undefined) validateIdentitySource(value.endpoint.identity, file, 'endpoint.identity');
  if (value.nameFrom !== undefined) validateNameSource(value.nameFrom, file);
  return value as unknown as NodeConfig;
}

const IDENTITY_PROVIDERS: readonly IdentityProvider[] = ['aws', 'aliyun'];

/** nameFrom: {"from": "machine-id"}, or {"from": "instance-id"} with an identity source's fields. */
function validateNameSource(source: unknown, file: string): void {
  const from = isObject(source) ? source.from : undefined;
  if (from === 'instance-id') validateIdentitySource(source, file, 'nameFrom');
  else if (from !== 'machine-id') throw new ConfigError(`${file}: nameFrom.from must be "instance-id" or "machine-id", got ${JSON.stringify(source)}`);
}

/** endpoint.identity (or nameFrom): which cloud's metadata service vouches for the node, and optionally where it is. */
function validateIdentitySource(identity: unknown, file: string, field: string): void {
  if (!isObject(identity)) throw new ConfigError(`${file}: ${field} must be an object such as {"provider": "aws"}, got ${JSON.stringify(identity)}`);
  if (!IDENTITY_PROVIDERS.includes(identity.provider as IdentityProvider)) {
    throw new ConfigError(`${file}: ${field}.provider must be ${IDENTITY_PROVIDERS.map((p) => `"${p}"`).join(' or ')}, got ${JSON.stringify(identity.provider)}`);
  }
  const { metadataUrl } = identity;
  if (metadataUrl === undefined) return;
  let url: URL | undefined;
  try {
    url = typeof metadataUrl === 'string' ? new URL(metadataUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${file}: ${field}.metadataUrl must be an http or https URL (the metadata service's base), got ${JSON.stringify(metadataUrl)}`);
  }
}

export async function loadAgentConfig(host: Host, file: string): Promise<AgentConfig> {
  const value = await readJson(host, file, 'AgentConfig');
  if (value === undefined) throw new ConfigError(`${file} does not exist: the agent config is baked into the image by labimg build`);
  return validateAgentConfig(value, file);
}

export async function loadNodeConfig(host: Host, file: string): Promise<NodeConfig | undefined> {
  const value = await readJson(host, file, 'NodeConfig');
  return value === undefined ? undefined : validateNodeConfig(value, file);
}

export async function loadSecrets(host: Host, file: string, log: Logger): Promise<NodeSecrets> {
  const value = await readJson(host, file, 'node secrets');
  if (value === undefined) return {};
  if (!isObject(value)) throw new ConfigError(`${file}: expected a JSON object`);
  const mode = await host.fileMode(file);
  if (mode !== undefined && (mode & 0o077) !== 0) log.warn(`${file} is readable by others (mode 0${mode.toString(8)}); it should be 0600`);
  const secrets: NodeSecrets = {};
  if (typeof value.bootstrapToken === 'string') secrets.bootstrapToken = value.bootstrapToken;
  if (typeof value.enrollmentToken === 'string') secrets.enrollmentToken = value.enrollmentToken;
  return secrets;
}

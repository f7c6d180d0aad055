import { sha256Hex } from '../../contract/sha256';
import { routePath } from '../../contract/endpoint-routes';
import type { Enrollment } from '../../builder/build';
import { UserError } from '../../contract/errors';
import type { AgentSource } from '../../builder/render/agent-fetcher';

/** Checks --agent-url: an http(s) URL of the bundle itself. Plain http is fine: the node checks the sha256. */
export function checkAgentUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`--agent-url: expected the URL agent.js is served at, such as https://files.example.com/labimg/agent.js, got "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserError(`--agent-url: expected an http or https URL, got "${value}"`);
  if (url.username || url.password) throw new UserError('--agent-url: a URL with credentials in it would land in user-data; serve the bundle without them');
  return url.href;
}

/**
 * Where stub user-data fetches the agent from: the URL the user hosts it at, or else the join endpoint the
 * nodes enroll with (which serves its own bundle by hash). Undefined when there is neither: no stub then.
 */
export function agentSourceFor(bundle: Buffer, agentUrl?: string, enrollment?: Enrollment): AgentSource | undefined {
  const sha256 = sha256Hex(bundle);
  if (agentUrl !== undefined) return { url: checkAgentUrl(agentUrl), sha256, unverifiedTransport: false };
  if (enrollment !== undefined) return { url: `${enrollment.url}${routePath('GET /v1/agent/:bundle', { bundle: `${sha256}.js` })}`, sha256, unverifiedTransport: true };
  return undefined;
}

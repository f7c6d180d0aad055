/**
 * What the labimg package ships beside the CLI: it runs from dist/ (dist/labimg.js and the bundle it loads,
 * dist/labimg-cli.cjs), with the agent bundle next to it and the profiles and the Packer template one folder up.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../contract/errors';

const packageRoot = path.resolve(__dirname, '..');
export const DEFAULT_PROFILES_DIR = path.join(packageRoot, 'profiles');
export const PACKER_TEMPLATE_DIR = path.join(packageRoot, 'packer');
const AGENT_BUNDLE = path.join(__dirname, 'agent.js');

export function readAgentBundle(): Buffer {
  if (!existsSync(AGENT_BUNDLE)) throw new UserError(`the agent bundle ${AGENT_BUNDLE} is missing: run "npm run build" first`);
  return readFileSync(AGENT_BUNDLE);
}

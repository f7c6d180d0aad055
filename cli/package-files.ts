/**
 * What the labimg package ships beside the CLI: it runs from dist/ (dist/labimg.js and the bundle it loads,
 * dist/labimg-cli.cjs), with the agent bundle next to it and the profiles and the Packer template one folder up.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../contract/errors';
import { useGzipOf } from '../builder/render/gzip';

const packageRoot = path.resolve(__dirname, '..');
export const DEFAULT_PROFILES_DIR = path.join(packageRoot, 'profiles');
export const PACKER_TEMPLATE_DIR = path.join(packageRoot, 'packer');
const AGENT_BUNDLE = path.join(__dirname, 'agent.js');

/** The agent bundle, with its carried gzip (AGENT_BUNDLE.gz, the bundler's) registered for the renderers. */
export function readAgentBundle(): Buffer {
  const carried = `${AGENT_BUNDLE}.gz`;
  if (!existsSync(AGENT_BUNDLE) || !existsSync(carried)) throw new UserError(`the agent bundle ${AGENT_BUNDLE} or its ${carried} is missing: run "npm run build" first`);
  const bundle = readFileSync(AGENT_BUNDLE);
  try {
    useGzipOf(bundle, readFileSync(carried));
  } catch {
    throw new UserError(`${carried} is not ${AGENT_BUNDLE} gzipped (one of them is stale): run "npm run build"`);
  }
  return bundle;
}

/**
 * What the labimg package ships beside the CLI: it runs from dist/ (dist/labimg.js and the bundle it loads,
 * dist/labimg-cli.cjs), with the agent bundle next to it and the profiles and the Packer template one folder up.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../contract/sha256';
import { UserError } from '../contract/errors';
import { useGzipOf, useRecordedGzipOf } from '../builder/render/gzip';

const packageRoot = path.resolve(__dirname, '..');
export const DEFAULT_PROFILES_DIR = path.join(packageRoot, 'profiles');
export const PACKER_TEMPLATE_DIR = path.join(packageRoot, 'packer');
const AGENT_BUNDLE = path.join(__dirname, 'agent.js');

/**
 * The sha256 of dist/agent.js and of the dist/agent.js.gz the bundler made of it, as the bundler recorded them
 * in the CLI's bundle when it wrote both (scripts/build.mjs); null when it found one missing, and absent where
 * this code runs unbundled.
 */
declare const LABIMG_CARRIED_AGENT_SHA256: { bundle: string; gzip: string } | null;

/** The agent bundle, with its carried gzip (AGENT_BUNDLE.gz, the bundler's) registered for the renderers. */
export function readAgentBundle(): Buffer {
  const carried = `${AGENT_BUNDLE}.gz`;
  if (!existsSync(AGENT_BUNDLE) || !existsSync(carried)) throw new UserError(`the agent bundle ${AGENT_BUNDLE} or its ${carried} is missing: run "npm run build" first`);
  const bundle = readFileSync(AGENT_BUNDLE);
  const gzipped = readFileSync(carried);
  // Both files as the bundler wrote them: the gzip is the bundle's. Any other pair (an agent built on its own,
  // `node scripts/build.mjs agent`) is checked by inflating it.
  const recorded = typeof LABIMG_CARRIED_AGENT_SHA256 === 'undefined' ? undefined : (LABIMG_CARRIED_AGENT_SHA256 ?? undefined);
  if (recorded !== undefined && sha256Hex(bundle) === recorded.bundle && sha256Hex(gzipped) === recorded.gzip) {
    useRecordedGzipOf(bundle, gzipped);
    return bundle;
  }
  try {
    useGzipOf(bundle, gzipped);
  } catch {
    throw new UserError(`${carried} is not ${AGENT_BUNDLE} gzipped (one of them is stale): run "npm run build"`);
  }
  return bundle;
}


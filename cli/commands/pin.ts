/**
 * `labimg pin URL...`: what a profile needs to pin a manifest, the URL and the sha256 of the file it serves,
 * printed as the YAML list entry `cni.manifests` and `gpu.devicePlugin.manifests` take. The node checks that
 * sha256 before kubectl reads the file, so review what was downloaded before you paste the pin.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../../contract/errors';

export interface PinOptions {
  urls: string[];
}

/** The most one manifest may be: Calico's largest (operator-crds.yaml of v3.31.7) is 2.6 MB. */
export const PIN_MAX_BYTES = 64 * 1024 * 1024;
/** How long one download may take, as long as the agent gives its own (agent/steps/manifests-step.ts). */
export const PIN_TIMEOUT_MS = 120_000;

export async function pinUrls(options: PinOptions): Promise<void> {
  for (const url of options.urls) {
    if (!/^https?:\/\/[^\s/]+\/\S*$/.test(url)) throw new UserError(`pin: ${JSON.stringify(url)} is not an http(s) URL such as https://example.com/path`);
  }
  for (const url of options.urls) {
    const { sha256, bytes } = await sha256Of(url);
    process.stdout.write(`- url: ${url}\n  sha256: ${sha256}\n`);
    process.stderr.write(`labimg pin: ${url}: ${bytes} bytes\n`);
  }
}

/** The sha256 of the body `url` serves, read as it streams in (redirects followed, as curl -L does on the node). */
async function sha256Of(url: string): Promise<{ sha256: string; bytes: number }> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(PIN_TIMEOUT_MS) });
  } catch (error) {
    throw new UserError(`pin: cannot download ${url}: ${causeOf(error)}`);
  }
  if (!response.ok || !response.body) throw new UserError(`pin: ${url} answered HTTP ${response.status}; nothing to pin`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > PIN_MAX_BYTES) throw new UserError(`pin: ${url} is larger than ${PIN_MAX_BYTES} bytes, more than any manifest labimg pins`);
      hash.update(chunk);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`pin: the download of ${url} broke off after ${bytes} bytes: ${causeOf(error)}`);
  }
  return { sha256: hash.digest('hex'), bytes };
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return cause ?? (error as Error).message;
}

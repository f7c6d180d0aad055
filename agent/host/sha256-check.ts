/**
 * Whether a downloaded file is the one a profile pins: sha256sum checks it against the pin. The check is a command
 * rather than a hash taken here, so a dry run shows it like every other action. A file that is not the pinned
 * one is removed, so nothing unchecked is left to be used; the sums file goes either way.
 */
import { CommandFailed, type Host } from './host';

export async function matchesSha256(host: Host, path: string, sha256: string): Promise<boolean> {
  const sums = `${path}.sha256`;
  await host.writeFile(sums, `${sha256}  ${host.hostPath(path)}\n`, 0o644);
  try {
    await host.run(['sha256sum', '--check', '--strict', '--status', host.hostPath(sums)]);
    return true;
  } catch (error) {
    if (!(error instanceof CommandFailed)) throw error;
    await host.remove(path);
    return false;
  } finally {
    await host.remove(sums);
  }
}

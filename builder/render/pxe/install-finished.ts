/**
 * An install's last word to `labimg serve`: POST /pxe/nodes/MAC/installed, with the install's own token as the
 * bearer, so that the machine's next network boot goes to its disk (endpoint/pxe.ts). Every installer reboots
 * into the new system before its agent has enrolled; a machine whose firmware boots the network first would
 * otherwise be handed the install again. Only files `labimg serve` renders for a MAC say it: a build's pxe/
 * folder on a plain web server has nobody to tell.
 */
import { routePath } from '../../../contract/endpoint-routes';

export interface InstallFinished {
  /** http://HOST:PORT/pxe/nodes/MAC/installed, as the machine reached the PXE base. */
  url: string;
  /** The install's token, the one its config carries. */
  token: string;
}

/**
 * The signal for the machine with `mac` (folder spelling), at the PXE base it reached (http://HOST:PORT/pxe,
 * endpointPxeBase): the route's path after the base's origin. Put together as text, as every URL of a served
 * file is, from the Host the machine sent.
 */
export function installFinishedFor(pxeBase: string, mac: string, token: string): InstallFinished {
  const route = routePath('POST /pxe/nodes/:mac/installed', { mac });
  if (!pxeBase.endsWith('/pxe') || !route.startsWith('/pxe/')) throw new Error(`not labimg serve's PXE base: ${pxeBase}`);
  return { url: `${pxeBase.slice(0, -'/pxe'.length)}${route}`, token };
}

/** Single-quoted for sh: the URL and token are ours, but a quote must never end the word early. */
function quoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * POSIX shell lines (bash in the target scripts, sh in Flatcar's PXE system) that make the call with curl,
 * which every target has (anaconda's @core, Ubuntu server, the preseed's pkgsel/include, Flatcar). Tried for
 * about a minute, as the endpoint may be restarting; after that the script fails, so the installer stops at
 * its error (kickstart's --erroronfail, a failed late-command) rather than leave a machine that installs again
 * at every boot. The token is in a header on the command line: an installer has no other users to see it,
 * and nothing here is echoed or traced.
 */
export function installFinishedCommands(signal: InstallFinished): string[] {
  return [
    '# Tell labimg serve the install has finished: this machine boots its disk from now on, not the installer again.',
    'labimg_installed=',
    'for _ in 1 2 3 4 5 6; do',
    `  if curl -fsS --max-time 10 -X POST -H ${quoted(`Authorization: Bearer ${signal.token}`)} ${quoted(signal.url)} > /dev/null; then`,
    '    labimg_installed=1',
    '    break',
    '  fi',
    '  sleep 5',
    'done',
    'if [ -z "$labimg_installed" ]; then',
    `  echo ${quoted(`labimg: could not tell ${signal.url} that the install has finished`)} >&2`,
    '  exit 1',
    'fi',
  ];
}

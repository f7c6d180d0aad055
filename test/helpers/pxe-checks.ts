/**
 * Checks for the PXE artifacts no packaged tool validates: a kickstart against what the RHEL 7 and RHEL 9
 * installers accept (kickstart-reference.ts beside this file), and an iPXE script against iPXE's commands
 * and its own parsing rules. Each returns findings, so a test can assert none AND see one on broken input.
 */
import { gunzipSync } from 'node:zlib';
import type { KickstartReference } from './kickstart-reference';

/** Words as pykickstart's shlex split sees them; labimg only ever writes plain double quotes. */
function kickstartWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
}

/** Every command, option and section of a kickstart that `reference` does not accept, one finding each. */
export function kickstartFindings(text: string, reference: KickstartReference): string[] {
  const findings: string[] = [];
  let section: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (section !== undefined) {
      if (line === '%end') section = undefined;
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const [name = '', ...args] = kickstartWords(line);
    const known = name.startsWith('%') ? reference.sections.includes(name) : reference.commands.includes(name);
    if (!known) {
      findings.push(`${where}: ${reference.name} has no ${name.startsWith('%') ? 'section' : 'command'} "${name}"`);
      return;
    }
    if (reference.deprecated.includes(name)) findings.push(`${where}: "${name}" is deprecated in ${reference.name}`);
    const options = name.startsWith('%') ? reference.sectionOptions[name] ?? [] : reference.options[name];
    if (!options) {
      findings.push(`${where}: kickstart-reference.ts lists no ${reference.name} options for "${name}": add them from the same source`);
      return;
    }
    for (const option of args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]!)) {
      if (!options.includes(option)) findings.push(`${where}: ${reference.name}'s "${name}" has no option ${option}`);
    }
    if (name.startsWith('%')) section = name;
  });
  if (section !== undefined) findings.push(`${section} is never closed with %end`);
  return findings;
}

/** The bodies of %pre and %post sections, as anaconda hands them to their interpreter. */
export function kickstartScripts(text: string): Array<{ section: string; body: string }> {
  const scripts: Array<{ section: string; body: string }> = [];
  for (const match of text.matchAll(/^(%pre|%post)\b[^\n]*\n([\s\S]*?)^%end$/gm)) scripts.push({ section: match[1]!, body: match[2]! });
  return scripts;
}


// iPXE: no syntax checker anywhere here, so a structural one.

/**
 * iPXE's commands: every COMMAND(name, …) in github.com/ipxe/ipxe src/ (commit 0ab2277c40) plus the ones
 * core/exec.c defines itself. A build may leave some out; the ones labimg uses (kernel, initrd, boot, chain,
 * goto, echo, sleep, imgfree, exit) are in every default build.
 */
const IPXE_COMMANDS = new Set(
  (
    'autoboot boot certfree certstat certstore chain choose clear colour config console cpair cpuid dhcp echo exit ' +
    'fcels fcstat fdt form gdbstub goto help ibstat ifclose ifconf iflinkwait ifopen ifstat imgargs imgdecrypt imgexec ' +
    'imgextract imgfetch imgfree imgload imgmem imgselect imgset imgstat imgtrust imgverify inc initrd ipstat iseq isset ' +
    'item iwlist iwstat kernel login lotest md4sum md5sum menu module nslookup nstat ntp param params pciscan ping ' +
    'poweroff present profstat prompt pxebs read reboot route sanboot sanhook sanunhook set sha1sum sha224sum ' +
    'sha256sum sha384sum sha512sum shell shim show sleep startpxe stoppxe sync time usbscan vcreate vdestroy'
  ).split(' '),
);

/** Like iPXE's own parser: words split at whitespace; "||", "&&" and ";" standing alone end a command; "#" starts a comment. */
export function ipxeCommands(script: string): Array<{ line: number; words: string[] }> {
  const commands: Array<{ line: number; words: string[] }> = [];
  script.split('\n').forEach((raw, index) => {
    const words: string[] = [];
    for (const word of [...raw.trim().split(/\s+/).filter(Boolean), ';']) {
      if (word.startsWith('#') && word !== '#!ipxe') break;
      if (word === '||' || word === '&&' || word === ';') {
        if (words.length > 0) commands.push({ line: index + 1, words: words.splice(0) });
      } else {
        words.push(word);
      }
    }
    if (words.length > 0) commands.push({ line: index + 1, words });
  });
  return commands;
}

export function ipxeFindings(script: string): string[] {
  const findings: string[] = [];
  if (!script.startsWith('#!ipxe\n')) findings.push('the first line is not #!ipxe');
  const commands = ipxeCommands(script).filter((command) => command.words[0] !== '#!ipxe');
  const labels = new Set(commands.filter((command) => command.words[0]!.startsWith(':')).map((command) => command.words[0]!.slice(1)));
  for (const { line, words } of commands) {
    const [name = '', target] = words;
    if (name.startsWith(':')) continue;
    if (!IPXE_COMMANDS.has(name)) findings.push(`line ${line}: iPXE has no command "${name}"`);
    if (name === 'goto' && (target === undefined || !labels.has(target))) findings.push(`line ${line}: goto ${target} has no label :${target}`);
  }
  for (const setting of script.matchAll(/\$\{[^}]*$/gm)) findings.push(`unclosed setting ${setting[0]}`);
  return findings;
}


/** The files a kickstart %post (or an autoinstall late command) lands on the node, by path: what the agent finds there. */
export function landedFiles(script: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of script.matchAll(/^# (\/\S+)\n(cat > "\$root\1" <<'LABIMG_FILE'\n([\s\S]*?)^LABIMG_FILE$|base64 -d <<'LABIMG_FILE' \| gzip -dc > "\$root\1"\n([\s\S]*?)\nLABIMG_FILE$)/gm)) {
    files.set(match[1]!, match[3] ?? gunzipSync(Buffer.from(match[4]!.replace(/\n/g, ''), 'base64')).toString('utf8'));
  }
  return files;
}

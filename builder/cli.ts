import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { dump } from 'js-yaml';
import type { Role } from '../contract/agent-config';
import { formatPlan, planAgent } from '../agent/plan';
import { bootsWithCloudInit, ignitionStubSource, nodeConfigFor, renderBuild, renderUserData, ROLES, type BuildInputs } from './build';
import { compileAgentConfig, nodeRuntimeOf } from './compile';
import { withBootCommand, type BootCommandHooks } from './boot-command';
import { withEndpointCommands, type EndpointCommandHooks } from './endpoint-commands';
import { readEnrollment, type Enrollment, type EnrollmentFlags } from './enrollment-inputs';
import { UserError } from '../contract/errors';
import { readJoinMaterial, type JoinFlags } from './join-inputs';
import { isUserData, type Manifest } from './manifest';
import { agentSourceFor } from './agent-source';
import { pxeCatalog } from './pxe-catalog';
import { loadPxeGroups } from './pxe-groups';
import { readPxeInputs, type PxeFlags } from './pxe-inputs';
import { readUserScripts } from './user-scripts';
import { isoAssetFolder } from './render/pxe';
import { checkPackerReady, runPacker } from './packer-run';
import { archiveMode, renderTarGz } from './archive';
import { writeDirectoryAtomically, writeFileAtomically } from './output';
import { formatMirror } from './mirrors/describe';
import { MIRROR_PRESETS } from './mirrors/presets';
import { MIRROR_PRESET_NAMES } from './mirrors/types';
import { FindingsError, listProfiles, loadProfile, ProfileError, formatFindings, type Profile } from './profiles';
import { version as labimgVersion } from '../package.json';

/** The CLI ships as dist/labimg.js; profiles and the agent bundle sit beside it in the package. */
const packageRoot = path.resolve(__dirname, '..');
const defaultProfilesDir = path.join(packageRoot, 'profiles');
const agentBundlePath = path.join(__dirname, 'agent.js');
const packerTemplateDir = path.join(packageRoot, 'packer');

interface GlobalOptions {
  profiles: string;
}

function readAgentBundle(): Buffer {
  if (!existsSync(agentBundlePath)) {
    throw new UserError(`the agent bundle ${agentBundlePath} is missing: run "npm run build" first`);
  }
  return readFileSync(agentBundlePath);
}

function buildInputs(profile: Profile, join?: BuildInputs['join'], enrollment?: Enrollment, agentUrl?: string, pxeFlags: PxeFlags = {}): BuildInputs {
  const agentBundle = readAgentBundle();
  const agentConfig = compileAgentConfig(profile);
  const pxe = readPxeInputs(profile, agentConfig.os, pxeFlags);
  return {
    ...(profile.image ? { packer: { profileName: profile.name, image: profile.image } } : {}),
    ...(pxe ? { pxe } : {}),
    profileName: profile.name,
    agentConfig,
    nodeRuntime: nodeRuntimeOf(profile),
    agentBundle,
    labimgVersion,
    join,
    enrollment,
    agentSource: agentSourceFor(agentBundle, agentUrl, enrollment),
  };
}

function printBuildSummary(outDir: string, manifest: Manifest, notes: readonly string[]): void {
  process.stdout.write(`wrote ${outDir}\n`);
  const width = Math.max(...manifest.files.map((file) => file.name.length));
  for (const file of manifest.files) {
    let limits = '';
    if (isUserData(file.name) && file.userDataLimits) {
      const fits = Object.entries(file.userDataLimits).map(([cloud, { fits }]) => `${cloud} ${fits ? 'fits' : 'too big'}`);
      limits = `  (${fits.join(', ')})`;
    }
    process.stdout.write(`  ${file.name.padEnd(width)} ${String(file.size).padStart(9)} B  ${file.sha256.slice(0, 12)}${limits}\n`);
  }
  for (const note of notes) process.stdout.write(`${note}\n`);
}

/** What the user may want to do next with this build, one line each. */
function buildNotes(inputs: BuildInputs, manifest: Manifest, baking: boolean): string[] {
  const notes: string[] = [];
  const tooBigForEc2 = manifest.files.some((f) => f.userDataLimits && !f.userDataLimits.ec2.fits);
  // Stubs leave the agent out and fetch it by sha256. Ignition trusts only the system's CAs, so only a URL the
  // user hosts serves its stub; cloud-init's can also fetch from the join endpoint the nodes enroll with.
  const missingStubs = [
    ...(bootsWithCloudInit(inputs.agentConfig) && !inputs.agentSource ? ['user-data-ROLE-stub.yaml'] : []),
    ...(!ignitionStubSource(inputs.agentSource) ? ['ignition-ROLE-stub.json'] : []),
  ];
  if (tooBigForEc2 && missingStubs.length > 0) {
    notes.push(`EC2 takes 16,384 B of user-data: add --agent-url URL (where you serve agent.js) for ${missingStubs.join(' and ')}, which fetch the agent and check its sha256`);
  }
  if (inputs.packer && !baking) notes.push(`bake an image with Packer: labimg build ${inputs.profileName} --packer`);
  const pxe = inputs.pxe;
  if (pxe?.base === undefined && pxe) notes.push("pxe/ holds each role's installer config; add --pxe-url URL (where you serve pxe/) for the boot.ipxe that installs from it");
  if (pxe && !(pxe.image.netInstall.kernel && pxe.image.netInstall.initrd) && pxe.image.netInstall.iso) {
    const iso = pxe.image.netInstall.iso;
    notes.push(`PXE: serve casper/vmlinuz and casper/initrd, copied out of ${iso}, at ${pxe.base ?? 'PXE-URL'}/assets/${isoAssetFolder(iso)}/casper/`);
  }
  return notes;
}

const joinOptions = {
  'join-api-server': { type: 'string', describe: 'worker join: API server HOST:PORT, as `kubeadm init` prints it' },
  'join-ca-cert-hash': { type: 'string', array: true, describe: 'worker join: sha256:<hex> CA public key hash' },
  'join-token-file': { type: 'string', describe: 'worker join: file holding the bootstrap token (never on the command line)' },
} as const;

const enrollmentOptions = {
  endpoint: { type: 'string', describe: 'join endpoint URL (https://HOST:PORT of `labimg serve`)' },
  'endpoint-ca-fingerprint': { type: 'string', describe: 'the endpoint CA fingerprint `labimg serve` prints (sha256:<hex>)' },
  pool: { type: 'string', describe: 'the pool the nodes enroll into' },
  'enrollment-token-file': { type: 'string', describe: 'file holding the pool\'s enrollment token (never on the command line)' },
} as const;

function enrollmentFlagsOf(argv: { endpoint?: string; endpointCaFingerprint?: string; pool?: string; enrollmentTokenFile?: string }): EnrollmentFlags {
  return { endpoint: argv.endpoint, endpointCaFingerprint: argv.endpointCaFingerprint, pool: argv.pool, enrollmentTokenFile: argv.enrollmentTokenFile };
}

function joinFlagsOf(argv: { joinApiServer?: string; joinCaCertHash?: string[]; joinTokenFile?: string }): JoinFlags {
  return { joinApiServer: argv.joinApiServer, joinCaCertHash: argv.joinCaCertHash, joinTokenFile: argv.joinTokenFile };
}

function mirrorOption<T>(y: Argv<T>) {
  return y.option('mirror', { choices: MIRROR_PRESET_NAMES, describe: "fetch everything from this mirror preset instead of the profile's `mirror` (labimg mirrors lists them)" });
}

function roleOption<T>(y: Argv<T>) {
  return y.option('role', { choices: ROLES, default: 'control-plane' as Role, describe: 'what the node does in the cluster' });
}

function requireCloudInit(inputs: BuildInputs): void {
  if (!bootsWithCloudInit(inputs.agentConfig)) {
    throw new UserError(`profile ${inputs.profileName} boots with Ignition, not cloud-init: labimg build ${inputs.profileName} writes ignition-ROLE.json`);
  }
}

const bootHooks: BootCommandHooks = {
  instance: ({ profile: ref, profilesDir, mirror, role, enrollment, userScripts }) => {
    const profile = loadProfile(ref, { dir: profilesDir, mirror });
    const inputs = { ...buildInputs(profile, undefined, enrollment), userScripts };
    requireCloudInit(inputs);
    const userData = renderBuild(inputs).find((file) => file.name === `user-data-${role}.${userScripts.length > 0 ? 'mime' : 'yaml'}`);
    if (!userData) throw new Error(`the build of ${profile.name} has no user-data for ${role}`);
    return { profileName: profile.name, userData: userData.content, ...(profile.image?.cloud ? { cloudImage: profile.image.cloud } : {}) };
  },
};

const endpointHooks: EndpointCommandHooks = {
  checkProfile: (name, dir) => void compileAgentConfig(loadProfile(name, { dir })),
  renderPoolUserData: ({ profile, role, url, caFingerprint, pool, token, profilesDir }) => {
    const inputs = buildInputs(loadProfile(profile, { dir: profilesDir }), undefined, { url, caFingerprint, pool, token });
    requireCloudInit(inputs);
    return renderUserData(inputs, role).content;
  },
  agentBundle: readAgentBundle,
  pxeCatalog: ({ groupsFile, profilesDir, assetsDir }) =>
    pxeCatalog({ groups: loadPxeGroups(groupsFile, profilesDir), profilesDir, agentBundle: readAgentBundle(), ...(assetsDir !== undefined ? { assetsDir } : {}) }),
};

export function cli(args: string[]): Argv<GlobalOptions> {
  const withProfileCommands = yargs(args)
    .scriptName('labimg')
    .version(labimgVersion)
    .usage('$0 <command>\n\nTurns Kubernetes node profiles into bootable machines.')
    .option('profiles', { type: 'string', default: defaultProfilesDir, describe: 'directory of profile YAML files', global: true })
    .command(
      'profiles',
      'list the profiles you can build',
      (y) => y,
      (argv) => {
        const rows = listProfiles(argv.profiles).filter((p) => !p.abstract);
        const width = Math.max(...rows.map((p) => p.name.length));
        for (const p of rows) process.stdout.write(`${p.name.padEnd(width)}  ${p.description}\n`);
      },
    )
    .command(
      'mirrors [name]',
      'list the mirror presets and where each takes every download from',
      (y) => y.positional('name', { choices: MIRROR_PRESET_NAMES, describe: 'one preset' }),
      (argv) => {
        const names = argv.name ? [argv.name] : MIRROR_PRESET_NAMES;
        process.stdout.write(names.map((name) => formatMirror(MIRROR_PRESETS[name])).join('\n'));
      },
    )
    .command(
      'show <profile>',
      'print a profile with its extends resolved, or the AgentConfig it compiles to',
      (y) =>
        mirrorOption(y.positional('profile', { type: 'string', demandOption: true, describe: 'profile name or YAML file' }))
          .option('agent-config', { type: 'boolean', default: false, describe: 'print the compiled AgentConfig instead' })
          .option('json', { type: 'boolean', default: false }),
      (argv) => {
        const profile = loadProfile(argv.profile, { dir: argv.profiles, mirror: argv.mirror });
        const value = argv.agentConfig ? compileAgentConfig(profile) : profile;
        process.stdout.write(argv.json ? `${JSON.stringify(value, null, 2)}\n` : dump(value, { lineWidth: -1, noRefs: true }));
      },
    )
    .command(
      'validate [refs..]',
      'check profiles (all of them when none is named); exits 1 with every problem found',
      (y) => mirrorOption(y.positional('refs', { type: 'string', array: true, describe: 'profile names or YAML files' })),
      (argv) => {
        // Abstract profiles are incomplete by design; they are checked through the profiles that extend them.
        const refs = argv.refs?.length ? argv.refs : listProfiles(argv.profiles).filter((p) => !p.abstract).map((p) => p.name);
        let failed = false;
        for (const ref of refs) {
          try {
            compileAgentConfig(loadProfile(ref, { dir: argv.profiles, mirror: argv.mirror }));
            process.stdout.write(`ok  ${ref}\n`);
          } catch (error) {
            if (!(error instanceof ProfileError)) throw error;
            failed = true;
            process.stderr.write(`${formatFindings(error.findings)}\n`);
          }
        }
        if (failed) process.exitCode = 1;
      },
    )
    .command(
      'plan <profile>',
      'print every step, command and file the agent would run and write on a fresh host',
      (y) =>
        mirrorOption(roleOption(y.positional('profile', { type: 'string', demandOption: true })))
          .option('gpu', { choices: ['present', 'absent'] as const, default: 'absent' as const, describe: 'plan as if an NVIDIA GPU were in the host' })
          .option('json', { type: 'boolean', default: false }),
      async (argv) => {
        const profile = loadProfile(argv.profile, { dir: argv.profiles, mirror: argv.mirror });
        const steps = await planAgent(compileAgentConfig(profile), nodeConfigFor(argv.role), { gpu: argv.gpu === 'present' });
        process.stdout.write(argv.json ? `${JSON.stringify(steps, null, 2)}\n` : formatPlan(steps));
      },
    )
    .command(
      'render <profile>',
      'print the cloud-init user-data for one role',
      (y) => mirrorOption(roleOption(y.positional('profile', { type: 'string', demandOption: true }))).options(joinOptions).options(enrollmentOptions),
      (argv) => {
        const profile = loadProfile(argv.profile, { dir: argv.profiles, mirror: argv.mirror });
        const inputs = buildInputs(profile, readJoinMaterial(joinFlagsOf(argv)), readEnrollment(enrollmentFlagsOf(argv)));
        requireCloudInit(inputs);
        process.stdout.write(renderUserData(inputs, argv.role).content);
      },
    )
    .command(
      'build <profile>',
      'write everything a node of PROFILE needs into OUT/PROFILE/, atomically',
      (y) =>
        mirrorOption(y.positional('profile', { type: 'string', demandOption: true }))
          .option('out', { type: 'string', default: 'out', describe: 'parent directory of the build' })
          .option('tar', { type: 'boolean', default: false, describe: 'also write OUT/PROFILE.tar.gz, byte-identical for the same inputs' })
          .option('packer', { type: 'boolean', default: false, describe: 'then bake the image with Packer (packer init where needed, packer build per base image)' })
          .option('packer-only', { type: 'string', array: true, describe: 'with --packer: bake only these sources (qemu.cloud, amazon-ebs.ami)' })
          .option('agent-url', { type: 'string', describe: 'where you serve agent.js: also write small user-data-ROLE-stub.yaml that fetches it (sha256-checked)' })
          .option('pxe-url', { type: 'string', describe: "where you serve the build's pxe/ folder: also write pxe/nodes/ROLE/boot.ipxe, which installs from there" })
          .option('user-script', { type: 'string', array: true, describe: 'your own shell script, run once per instance before the agent starts: also write user-data-ROLE.mime (multipart, as cloud-init make-mime) carrying it' })
          .option('ssh-authorized-keys', { type: 'string', describe: 'authorized_keys file: who may log in (as the distro user, key only) to machines the pxe/ files install' })
          .options(joinOptions)
          .options(enrollmentOptions),
      async (argv) => {
        const profile = loadProfile(argv.profile, { dir: argv.profiles, mirror: argv.mirror });
        const outDir = path.join(argv.out, profile.name);
        if (argv.packerOnly && !argv.packer) throw new UserError('--packer-only goes with --packer');
        const packer = argv.packer ? checkPackerReady(profile, argv.packerOnly) : undefined;
        const pxeFlags = { pxeUrl: argv.pxeUrl, sshAuthorizedKeys: argv.sshAuthorizedKeys };
        const inputs = buildInputs(profile, readJoinMaterial(joinFlagsOf(argv)), readEnrollment(enrollmentFlagsOf(argv)), argv.agentUrl, pxeFlags);
        if (argv.userScript?.length) requireCloudInit(inputs);
        const files = renderBuild({ ...inputs, userScripts: readUserScripts(argv.userScript) });
        // Rendered before anything is written, so a failure leaves the previous build and archive alone.
        const archive = argv.tar ? await renderTarGz(profile.name, files) : undefined;
        writeDirectoryAtomically(outDir, files);
        const manifest = JSON.parse(files.find((f) => f.name === 'manifest.json')!.content.toString('utf8')) as Manifest;
        printBuildSummary(outDir, manifest, buildNotes(inputs, manifest, argv.packer));
        if (archive) {
          const archivePath = path.join(argv.out, `${profile.name}.tar.gz`);
          writeFileAtomically(archivePath, archive, archiveMode(files));
          process.stdout.write(`wrote ${archivePath}  ${archive.length} B  sha256 ${createHash('sha256').update(archive).digest('hex')}\n`);
        }
        if (packer) runPacker({ ...packer, profileName: profile.name, buildDir: path.resolve(outDir), templateDir: packerTemplateDir });
      },
    );
  return withBootCommand(withEndpointCommands(withProfileCommands, endpointHooks), bootHooks)
    .demandCommand(1, 'name a command; `labimg --help` lists them')
    .strict()
    .recommendCommands()
    .fail((message, error) => {
      // Errors from a command's own work are reported by main(); usage mistakes get a short hint, no wall of help.
      if (error) throw error;
      process.stderr.write(`labimg: ${message}\nRun "labimg --help" for the commands and their options.\n`);
      process.exit(2);
    });
}

async function main(): Promise<void> {
  try {
    await cli(hideBin(process.argv)).parseAsync();
  } catch (error) {
    if (error instanceof FindingsError) {
      process.stderr.write(`${formatFindings(error.findings)}\n`);
    } else if (error instanceof UserError) {
      process.stderr.write(`labimg: ${error.message}\n`);
    } else {
      process.stderr.write(`labimg: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  }
}

if (require.main === module) void main();

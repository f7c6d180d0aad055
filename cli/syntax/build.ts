/** `labimg build`'s flags and help; its work (../commands/build.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import {
  mirrorOption,
  joinOptions,
  enrollmentOptions,
  controlPlaneOptions,
  autoscalingOptions,
  joinFlagsOf,
  enrollmentFlagsOf,
  controlPlaneFlagsOf,
  autoscalingFlagsOf,
  type GlobalOptions,
} from '../options';

const work = () => import('../commands/build');

export function addBuildCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'build <profile>',
    'write everything a node of PROFILE needs into OUT/PROFILE/, atomically',
    (c) =>
      mirrorOption(c.positional('profile', { type: 'string', demandOption: true }))
        .option('out', { type: 'string', default: 'out', describe: 'parent directory of the build' })
        .option('tar', { type: 'boolean', default: false, describe: 'also write OUT/PROFILE.tar.gz, byte-identical for the same inputs' })
        .option('packer', { type: 'boolean', default: false, describe: 'then bake the image with Packer (packer init where needed, packer build per base image)' })
        .option('packer-only', { type: 'string', array: true, describe: 'with --packer: bake only these sources (qemu.cloud, amazon-ebs.ami)' })
        .option('agent-url', { type: 'string', describe: 'where you serve agent.js: also write small user-data-ROLE-stub.yaml that fetches it (sha256-checked)' })
        .option('pxe-url', { type: 'string', describe: "where you serve the build's pxe/ folder: also write pxe/nodes/ROLE/boot.ipxe, which installs from there" })
        .option('user-script', { type: 'string', array: true, describe: 'your own shell script, run once per instance before the agent starts: also write user-data-ROLE.mime (multipart, as cloud-init make-mime) carrying it' })
        .option('ssh-authorized-keys', { type: 'string', describe: 'authorized_keys file: who may log in (as the distro user, key only) to machines the pxe/ files install' })
        .options(joinOptions)
        .options(enrollmentOptions)
        .options(controlPlaneOptions)
        .options(autoscalingOptions),
    async (argv) =>
      (await work()).buildProfile({
        profile: argv.profile,
        profilesDir: argv.profiles,
        mirror: argv.mirror,
        out: argv.out,
        tar: argv.tar,
        packer: argv.packer,
        packerOnly: argv.packerOnly,
        agentUrl: argv.agentUrl,
        pxe: { pxeUrl: argv.pxeUrl, sshAuthorizedKeys: argv.sshAuthorizedKeys },
        userScripts: argv.userScript,
        join: joinFlagsOf(argv),
        enrollment: enrollmentFlagsOf(argv),
        controlPlane: controlPlaneFlagsOf(argv),
        autoscaling: autoscalingFlagsOf(argv),
      }),
  );
}

/** `labimg boot`'s flags and help; its work (../commands/boot.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { MIRROR_PRESET_NAMES } from '../../builder/mirrors/types';
import { roleOption, enrollmentFlagsOf, joinOptions, joinFlagsOf, controlPlaneOptions, controlPlaneFlagsOf, type GlobalOptions } from '../options';

const work = () => import('../commands/boot');

export function addBootCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'boot <profile>',
    "start a local qemu VM with the profile's user-data, showing the agent's progress",
    (c) =>
      roleOption(c.positional('profile', { type: 'string', demandOption: true }))
        .option('mirror', { choices: MIRROR_PRESET_NAMES, describe: "fetch everything from this mirror preset instead of the profile's `mirror`" })
        .option('disk', { type: 'string', describe: "the image to start from (raw or qcow2); the profile's cloud image, downloaded and checked, when absent" })
        .option('kernel', { type: 'string', describe: 'direct kernel boot: the kernel (with --initrd and --append), for images without a boot loader' })
        .option('initrd', { type: 'string' })
        .option('append', { type: 'string', describe: 'the kernel command line, e.g. "root=LABEL=root rw console=ttyS0"' })
        .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const, describe: 'KVM where it runs a probe guest faster than TCG, TCG otherwise' })
        .option('disk-size', { type: 'string', default: '20G', describe: "the VM disk's size (M or G), when larger than the image; the image's cloud-init grows into it" })
        .option('memory', { type: 'number', default: 2048, describe: 'MiB' })
        .option('cpus', { type: 'number', default: 2 })
        .option('offline', { type: 'boolean', default: false, describe: 'the VM reaches nothing but its --guest-forward ports: no mirror, no internet' })
        .option('guest-forward', { type: 'string', array: true, describe: 'GUEST-IP:PORT=HOST-PORT: a guest connection to 10.0.2.x:PORT reaches this host\'s 127.0.0.1:HOST-PORT' })
        .option('host-forward', { type: 'string', array: true, describe: "HOST-PORT=GUEST-PORT: this host's 127.0.0.1:HOST-PORT reaches the guest's port, e.g. 2222=22 for SSH" })
        .option('lan', { type: 'string', describe: 'MULTICAST-IP:PORT: a second NIC on a network shared with the other VMs started with the same --lan (qemu multicast socket), e.g. 230.0.76.1:47600' })
        .option('lan-address', { type: 'string', describe: "the VM's static address on --lan, e.g. 192.168.76.10/24 (the seed's network-config)" })
        .option('user-script', { type: 'string', array: true, describe: 'your own shell script, run once before the agent starts (as with build)' })
        .option('name', { type: 'string', describe: "the VM's host name, which is also its node name (PROFILE-ROLE when absent)" })
        .option('work', { type: 'string', describe: 'folder for the VM disk, seed and console log; the same folder starts the same machine again' })
        .option('timeout', { type: 'string', default: '60m', describe: 'stop the VM after this long (30m, 2h)' })
        .option('console', { type: 'boolean', default: false, describe: 'print the whole console, not just the agent\'s progress' })
        .option('endpoint', { type: 'string', describe: 'join endpoint URL, as the VM reaches it (https://10.0.2.2:PORT for one on this host)' })
        .option('endpoint-ca-fingerprint', { type: 'string' })
        .option('pool', { type: 'string' })
        .option('enrollment-token-file', { type: 'string', describe: "file holding the pool's worker enrollment token" })
        .option('control-plane-token-file', { type: 'string', describe: 'file holding a control-plane enrollment token, for --role control-plane' })
        .options(joinOptions)
        .options(controlPlaneOptions),
    async (argv) =>
      (await work()).bootProfile({
        profile: argv.profile,
        profilesDir: argv.profiles,
        mirror: argv.mirror,
        role: argv.role,
        disk: argv.disk,
        kernel: argv.kernel,
        initrd: argv.initrd,
        append: argv.append,
        accel: argv.accel,
        diskSize: argv['disk-size'],
        memoryMiB: argv.memory,
        cpus: argv.cpus,
        offline: argv.offline,
        guestForwards: argv['guest-forward'],
        hostForwards: argv['host-forward'],
        lan: argv.lan,
        lanAddress: argv['lan-address'],
        userScripts: argv['user-script'],
        name: argv.name,
        work: argv.work,
        timeout: argv.timeout,
        console: argv.console,
        enrollment: enrollmentFlagsOf({
          endpoint: argv.endpoint,
          endpointCaFingerprint: argv['endpoint-ca-fingerprint'],
          pool: argv.pool,
          enrollmentTokenFile: argv['enrollment-token-file'],
          controlPlaneTokenFile: argv['control-plane-token-file'],
        }),
        join: joinFlagsOf(argv),
        controlPlane: controlPlaneFlagsOf(argv),
      }),
  );
}

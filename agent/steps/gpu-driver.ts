/**
 * On every boot of a GPU profile's node, before the GPU switch: NVIDIA's driver is loaded and drives every
 * NVIDIA GPU on the PCI bus, or the node says why not. A node is a GPU node only after this step has seen
 * `nvidia-smi` list each of its GPUs (../gpu/verify.ts), never because a card sits on the bus.
 *
 * - nouveau bound to a GPU: the kernel's own driver got there first. NVIDIA's guide has it blacklisted and the
 *   initramfs rebuilt (which carries modprobe.d into early boot), then a reboot; the agent reboots the machine
 *   itself and resumes on the next boot. If nouveau still holds the card after that reboot, it is reported.
 * - the module not loaded: `modprobe nvidia`. A module refused under Secure Boot is named as such, with what
 *   fixes it, since "Key was rejected by service" alone sends people looking in the wrong place.
 * - anything still wrong (nvidia-smi failing or missing a GPU, a device the driver's branch does not support, no
 *   toolkit) is this run's verdict, and the GPU switch acts on it: runc becomes the default runtime, then
 *   gpu.onFailure decides. `fail`: the switch fails with the reason, so the node does not join (and a node that
 *   joined on an earlier boot keeps its other pods running on runc). `cpu`: the node joins as a CPU node,
 *   labelled labimg.dev/gpu-unusable=<why>.
 */
import { PATHS } from '../../contract/node-paths';
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import { GPU_UNUSABLE_LABEL, nvidiaGpus, rememberVerdict, rememberedVerdict, unusableMessage } from '../gpu/detect';
import { secureBootEnabled } from '../gpu/secure-boot';
import { verifyGpus, type GpuVerdict } from '../gpu/verify';
import { CommandFailed } from '../host/host';
import { hostDriverGpu } from '../gpu/stack';
import type { Step, StepContext } from './step';

/** NVIDIA's blacklist for nouveau, as its guide writes it (see FACTS.md, "Disabling nouveau"). */
export const NOUVEAU_BLACKLIST_FILE = '/etc/modprobe.d/blacklist-nouveau.conf';
export const NOUVEAU_BLACKLIST = 'blacklist nouveau\noptions nouveau modeset=0\n';

async function bootId(ctx: StepContext): Promise<string> {
  return (await ctx.host.readFile('/proc/sys/kernel/random/boot_id'))?.trim() ?? '';
}

/** The verdict now, kept for the GPU switch and kubeadm's labels later in this run. */
async function verdictNow(ctx: StepContext): Promise<GpuVerdict | undefined> {
  const spec = ctx.config.gpu;
  const gpus = await nvidiaGpus(ctx.host);
  if (!spec || gpus.length === 0) return undefined;
  const verdict = await verifyGpus(ctx.host, spec, gpus);
  rememberVerdict(ctx.host, verdict);
  return verdict;
}

/** After a reboot made for nouveau's sake, a nouveau still there is not something another reboot fixes. */
async function rebootedForNouveauAlready(ctx: StepContext): Promise<boolean> {
  const marker = (await ctx.host.readFile(PATHS.nouveauReboot))?.trim();
  return marker !== undefined && marker !== (await bootId(ctx));
}

export const gpuDriver: Step = {
  id: 'gpu-driver',
  phase: 'boot',
  title: "Load NVIDIA's driver and check that it drives every GPU",
  // The GPU operator's own driver (gpu.stack gpu-operator) is its to load and check.
  applies: (ctx) => hostDriverGpu(ctx.config) !== undefined,

  async check(ctx) {
    // Settled by apply in this run: the verdict it left stands (nvidia-smi is not asked again).
    const settled = rememberedVerdict(ctx.host);
    const verdict = settled?.final ? settled.verdict : await verdictNow(ctx);
    if (!verdict) {
      ctx.log.info('no NVIDIA GPU on the PCI bus');
      return true;
    }
    if (verdict.usable) {
      ctx.log.info(`driver ${verdict.gpus[0]?.driverVersion} drives ${verdict.gpus.map((g) => `${g.name} at ${g.address}`).join(', ')}`);
      return true;
    }
    // A failure this run could not fix is settled here; the GPU switch acts on it (runc, and gpu.onFailure).
    return settled?.final === true;
  },

  async apply(ctx) {
    const spec = ctx.config.gpu;
    if (!spec) return;
    // The check just before found this verdict; only loading the module changes it.
    let verdict = rememberedVerdict(ctx.host)?.verdict ?? (await verdictNow(ctx));
    if (verdict && !verdict.usable && verdict.failure === 'nouveau-holds-gpu') {
      if (await rebootedForNouveauAlready(ctx)) {
        verdict = { ...verdict, message: `${verdict.message}, even blacklisted and after a reboot` };
      } else {
        await rebootWithoutNouveau(ctx);
        return;
      }
    }
    if (verdict && !verdict.usable && verdict.failure === 'driver-not-loaded') verdict = await loadModule(ctx);
    if (verdict) rememberVerdict(ctx.host, verdict, { final: true });
    if (verdict && !verdict.usable && spec.onFailure === 'cpu') {
      ctx.log.warn(`${unusableMessage(verdict)}; joining as a CPU node (gpu.onFailure: cpu), labelled ${GPU_UNUSABLE_LABEL}=${verdict.failure}`);
    }
  },
};

/** `modprobe nvidia`, and the verdict after it; a refusal under Secure Boot says so. */
async function loadModule(ctx: StepContext): Promise<GpuVerdict | undefined> {
  try {
    await ctx.host.run(['modprobe', 'nvidia']);
  } catch (error) {
    if (!(error instanceof CommandFailed)) throw error;
    const said = `${error.result.stderr}\n${error.result.stdout}`.trim().split('\n').filter(Boolean).pop() ?? '';
    if ((await secureBootEnabled(ctx.host)) && /Key was rejected|key not available|not permitted/.test(said)) {
      return {
        usable: false,
        failure: 'secure-boot-unsigned-module',
        message: `Secure Boot is on and the kernel refused NVIDIA's unsigned module (${said}): enroll DKMS's key (mokutil --import /var/lib/dkms/mok.pub) or turn Secure Boot off`,
      };
    }
    return { usable: false, failure: 'driver-not-loaded', message: `modprobe nvidia fails: ${said || `exit status ${error.result.code}`}` };
  }
  return verdictNow(ctx);
}

/** Blacklists nouveau where early boot reads it too, and reboots; the agent's unit runs this step again after. */
async function rebootWithoutNouveau(ctx: StepContext): Promise<void> {
  const rebuild = OS_FAMILIES_ON_NODE[ctx.config.os.family].initramfsRebuild;
  if (!rebuild) throw new Error(`nouveau holds the NVIDIA GPU, and ${ctx.config.os.family} has no initramfs to rebuild without it`);
  await ctx.host.writeFile(NOUVEAU_BLACKLIST_FILE, NOUVEAU_BLACKLIST, 0o644);
  await ctx.host.run([...rebuild], { timeoutMs: 10 * 60_000 });
  await ctx.host.writeFile(PATHS.nouveauReboot, `${await bootId(ctx)}\n`, 0o644);
  ctx.log.warn('nouveau holds the NVIDIA GPU: blacklisted it; rebooting, the agent goes on after');
  await ctx.host.run(['systemctl', 'reboot']);
  // systemd now stops every unit, this agent's too: nothing more is done in this boot.
  await new Promise(() => {});
}

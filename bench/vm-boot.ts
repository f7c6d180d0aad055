// Boot to the final phase, for an unbaked and a baked Debian 12 image: RUNS real VMs of each (3 by default),
// started with `labimg boot` as `npm run test:e2e` starts them (same image, cache, stand-ins and endpoint).
// Prints, as a Markdown table, the median seconds from the VM's start to the agent's last line, and the
// agent's own time per phase from its reports to the endpoint. Under TCG (no KVM) a run takes minutes.
//   npm run bench:boot            RUNS=1 npm run bench:boot
import path from 'node:path';
import type { Accelerator } from '../vm/qemu';
import { chooseAccelerator } from '../vm/accelerator';
import { repoRoot } from '../test/helpers/cli';
import { bakedImage } from '../e2e/helpers/bake';
import { bootVm, type BootRun } from '../e2e/helpers/boot-vm';
import { bootImage } from '../e2e/helpers/image';
import { agentTimes, bootReports, type AgentTimes } from '../e2e/helpers/reports';
import { startWorld } from '../e2e/helpers/world';

const RUNS = Number(process.env.RUNS ?? 3);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

interface Sample {
  boot: BootRun;
  agent: AgentTimes;
}

async function main(): Promise<void> {
  const image = bootImage();
  const world = await startWorld();
  try {
    const baked = await bakedImage(image, world.build(), path.join(repoRoot, '.cache', 'e2e'), [world.filesForward]);
    // Every boot is a cluster of its own, so a pool of its own: a pool keeps the API server it first published.
    const kinds = [
      { kind: 'unbaked', disk: image.disk, flags: (run: string) => world.onlineFlags(`bench-unbaked-${run}`) },
      { kind: 'baked', disk: baked.disk, flags: (run: string) => world.offlineFlags(`bench-baked-${run}`) },
    ];
    const rows: string[] = [];
    for (const { kind, disk, flags } of kinds) {
      const samples: Sample[] = [];
      for (let i = 1; i <= RUNS; i++) {
        const name = `bench-${kind}-${i}`;
        const boot = await bootVm({ profileFile: world.profileFile, image, name, disk, flags: flags(String(i)) });
        if (boot.code !== 0 || boot.agentDoneAt === undefined || boot.facts?.agent.activeState !== 'active') {
          throw new Error(`${name} did not reach the final phase (labimg boot exit ${boot.code}); console: ${boot.serialLog}\n${boot.stdout}`);
        }
        const agent = agentTimes(await bootReports(world.data, name));
        samples.push({ boot, agent });
        process.stderr.write(`${name}: final phase at ${boot.agentDoneAt} s; agent bake ${agent.phases.bake?.toFixed(1)} s, boot ${agent.phases.boot?.toFixed(1)} s\n`);
      }
      const of = (pick: (s: Sample) => number | undefined) => median(samples.map((s) => pick(s) ?? 0)).toFixed(0);
      rows.push(
        `| ${kind} | ${of((s) => s.boot.agentDoneAt)} (${samples.map((s) => s.boot.agentDoneAt).join(', ')}) | ${of((s) => s.agent.phases.bake)} | ${of((s) => s.agent.phases.boot)} | ${of((s) => s.agent.run)} |`,
      );
    }
    const accel = chooseAccelerator((process.env.LABIMG_E2E_ACCEL as Accelerator | undefined) ?? 'auto');
    console.log(`Debian 12 VMs of \`labimg boot\` (2 vCPUs, 2 GiB), ${accel.toUpperCase()}; median of ${RUNS}, seconds\n`);
    console.log('| image | VM start → final phase (runs) | agent: bake phase | agent: boot phase | agent: whole run |');
    console.log('|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  } finally {
    await world.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

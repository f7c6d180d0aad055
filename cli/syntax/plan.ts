/** `labimg plan`'s flags and help; its work (../commands/plan.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { mirrorOption, roleOption, type GlobalOptions } from '../options';

const work = () => import('../commands/plan');

export function addPlanCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'plan <profile>',
    'print every step, command and file the agent would run and write on a fresh host',
    (c) =>
      mirrorOption(roleOption(c.positional('profile', { type: 'string', demandOption: true })))
        .option('gpu', { choices: ['present', 'absent'] as const, default: 'absent' as const, describe: 'plan as if an NVIDIA GPU were in the host' })
        .option('json', { type: 'boolean', default: false }),
    async (argv) => (await work()).printPlan({ profile: argv.profile, profilesDir: argv.profiles, mirror: argv.mirror, role: argv.role, gpu: argv.gpu === 'present', json: argv.json }),
  );
}

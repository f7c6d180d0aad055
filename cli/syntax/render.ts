/** `labimg render`'s flags and help; its work (../commands/render.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { mirrorOption, roleOption, joinOptions, enrollmentOptions, controlPlaneOptions, joinFlagsOf, enrollmentFlagsOf, controlPlaneFlagsOf, type GlobalOptions } from '../options';

const work = () => import('../commands/render');

export function addRenderCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'render <profile>',
    'print the cloud-init user-data for one role',
    (c) => mirrorOption(roleOption(c.positional('profile', { type: 'string', demandOption: true }))).options(joinOptions).options(enrollmentOptions).options(controlPlaneOptions),
    async (argv) =>
      (await work()).printUserData({
        profile: argv.profile,
        profilesDir: argv.profiles,
        mirror: argv.mirror,
        role: argv.role,
        join: joinFlagsOf(argv),
        enrollment: enrollmentFlagsOf(argv),
        controlPlane: controlPlaneFlagsOf(argv),
      }),
  );
}

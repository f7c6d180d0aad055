/** `labimg audit`'s flags and help; its work (../commands/audit.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { storeOptions, type GlobalOptions } from '../options';

const work = () => import('../commands/audit');

export function addAuditCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'audit',
    'print the audit trail: pools, tokens, enrollments, join material published and issued, PXE configs served',
    (c) => c.options(storeOptions).option('json', { type: 'boolean', default: false }),
    async (argv) => (await work()).showAuditTrail(argv, { json: argv.json }),
  );
}

/**
 * A small argv parser: `command --flag value --switch`. The agent ships as one file for old Node, so it does
 * without an argument library; the grammar is small enough to state in full.
 */
export interface ParsedArgs {
  command: string | undefined;
  options: Record<string, string | true>;
}

export class UsageError extends Error {}

/** `valued` lists options that take a value; any other `--name` is a switch. */
export function parseArgs(argv: string[], valued: readonly string[], switches: readonly string[]): ParsedArgs {
  const options: Record<string, string | true> = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
      command = arg;
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    } else if (switches.includes(name) && inline === undefined) {
      options[name] = true;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { command, options };
}

export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

/**
 * How wide the terminal is, for help text and `labimg nodes --watch`: the columns of stdout when it is a terminal
 * (Node's tty.WriteStream#columns, https://nodejs.org/docs/latest-v20.x/api/tty.html#writestreamcolumns, read
 * 2026-12-06), else $COLUMNS, which shells set for the terminal they run in (bash(1), COLUMNS), else 80.
 */
export const DEFAULT_COLUMNS = 80;
/** Narrower than this, a help line would be a word or two: wrapping stops helping. */
const MIN_COLUMNS = 40;

export function terminalColumns(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromTerminal = stream.isTTY ? stream.columns : undefined;
  const fromEnv = Number(env.COLUMNS);
  const columns = fromTerminal !== undefined && fromTerminal > 0 ? fromTerminal : Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_COLUMNS;
  return Math.max(MIN_COLUMNS, columns);
}

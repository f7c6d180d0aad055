/** Single-quotes a value for POSIX sh: the only quoting in which nothing is special. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

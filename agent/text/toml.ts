/**
 * TOML for the two files the agent writes in it: containerd's config.toml and its registry hosts.toml. Both are
 * fixed shapes of tables, strings, booleans, integers and lists of strings, and this writes exactly those.
 *
 * Why not a TOML library: smol-toml's stringify was 1,367 B of the agent's 28,000 B gzip budget, for two files of
 * known shape. The tests read every file written here back with smol-toml's parser and compare it with the object
 * it came from, so a TOML library still judges the output; only the writing is here.
 *
 * The layout is the one smol-toml wrote (a table's own values first, each sub-table under its own `[a.b."c.d"]`
 * header after a blank line, headers only for tables that hold values), so the files on nodes did not change.
 * Grammar: TOML 1.0.0, https://toml.io/en/v1.0.0 (keys, basic strings, arrays, tables; read 2026-12-06).
 */
export type TomlValue = string | boolean | number | readonly string[];
export interface TomlTable {
  readonly [key: string]: TomlValue | TomlTable;
}

export function stringifyToml(table: TomlTable): string {
  const sections: string[] = [];
  writeTable(table, [], sections);
  return sections.join('\n\n');
}

function writeTable(table: TomlTable, path: string[], sections: string[]): void {
  const lines: string[] = [];
  const subTables: Array<[string, TomlTable]> = [];
  for (const [key, value] of Object.entries(table)) {
    if (typeof value === 'object' && !Array.isArray(value)) subTables.push([key, value as TomlTable]);
    else lines.push(`${tomlKey(key)} = ${tomlValue(value as TomlValue)}`);
  }
  // A table with nothing of its own needs no header: its sub-tables' headers define it. An empty one does, or it
  // would not exist at all.
  if (path.length > 0 && (lines.length > 0 || subTables.length === 0)) lines.unshift(`[${path.map(tomlKey).join('.')}]`);
  if (lines.length > 0) sections.push(lines.join('\n'));
  for (const [key, sub] of subTables) writeTable(sub, [...path, key], sections);
}

/** A bare key where TOML allows one (A-Z a-z 0-9 _ -), else a quoted key, which is a basic string. */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : basicString(key);
}

function tomlValue(value: TomlValue): string {
  if (typeof value === 'string') return basicString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    // TOML integers are 64-bit; JavaScript numbers are exact only up to 2^53, and config values here are counts.
    if (!Number.isSafeInteger(value)) throw new Error(`TOML: ${value} is not an integer this writer can state exactly`);
    return String(value);
  }
  return value.length === 0 ? '[]' : `[ ${value.map(basicString).join(', ')} ]`;
}

/**
 * A TOML basic string. JSON's escapes are a subset of TOML's (\" \\ \b \f \n \r \t \uXXXX) and JSON.stringify never
 * writes `\/`, which TOML lacks; TOML also requires DEL (U+007F) escaped, which JSON does not. A lone surrogate has
 * no TOML escape (\u must name a Unicode scalar value), so it is refused rather than written as invalid TOML.
 */
function basicString(text: string): string {
  if (/\p{Cs}/u.test(text)) throw new Error(`TOML: ${JSON.stringify(text)} holds a lone UTF-16 surrogate, which TOML cannot state`);
  return JSON.stringify(text).replace(/\x7f/g, '\\u007f');
}

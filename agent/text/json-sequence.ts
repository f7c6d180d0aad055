/**
 * A stream of JSON values written one after another, as `kubectl create --dry-run=client -o json` prints one
 * object per manifest document (k8s.io/cli-runtime pkg/printers/json.go, JSONPrinter.PrintObj: each object
 * json.MarshalIndent'ed and followed by a newline, with nothing between objects; read 2026-12-05).
 *
 * Only the boundaries are found here, by depth outside strings; each value is then read by JSON.parse, so nothing
 * about the values themselves is parsed by hand.
 */
export function parseJsonSequence(text: string, what: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (depth === 0 && /\s/.test(char!)) continue;
    if (depth === 0) {
      if (char !== '{' && char !== '[') throw new Error(`${what}: expected a JSON object at offset ${i}, found ${JSON.stringify(text.slice(i, i + 20))}`);
      start = i;
    }
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) values.push(parseValue(text.slice(start, i + 1), what, start));
    }
  }
  if (depth !== 0 || inString) throw new Error(`${what}: the output ends inside a JSON value that began at offset ${start}`);
  return values;
}

function parseValue(text: string, what: string, offset: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: the JSON value at offset ${offset} does not parse: ${(err as Error).message}`);
  }
}

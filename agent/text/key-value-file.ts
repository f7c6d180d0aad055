/**
 * Edits one KEY=value line of a distro-owned file (/etc/selinux/config), keeping every other line and comment
 * as the distro wrote it. Returns the text unchanged when the key already has the value.
 */
export function readKey(text: string, key: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = new RegExp(`^\\s*${escape(key)}\\s*=\\s*(.*?)\\s*$`).exec(line);
    if (match) return match[1];
  }
  return undefined;
}

export function setKey(text: string, key: string, value: string): string {
  const pattern = new RegExp(`^\\s*${escape(key)}\\s*=`);
  let found = false;
  const lines = text.split('\n').map((line) => {
    if (!pattern.test(line)) return line;
    found = true;
    return `${key}=${value}`;
  });
  if (found) return lines.join('\n');
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${key}=${value}\n`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

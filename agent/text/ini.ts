/** INI files as yum reads them (/etc/yum.repos.d/*.repo): sections of key=value, written from typed data. */
export type IniSection = Record<string, string | number | undefined>;

export function renderIni(sections: Record<string, IniSection>): string {
  return Object.entries(sections)
    .map(([name, keys]) => {
      const lines = Object.entries(keys)
        .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
        .map(([key, value]) => `${key}=${value}`);
      return [`[${name}]`, ...lines].join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

/** Permission bits as people write them: 0644, 0600. */
export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

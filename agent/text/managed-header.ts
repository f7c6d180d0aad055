/** The first line of every file the agent owns, so an admin who opens it knows edits will be replaced. */
export function managedHeader(comment = '#'): string {
  return `${comment} Managed by labimg-agent: changes here are replaced on the next run.\n`;
}

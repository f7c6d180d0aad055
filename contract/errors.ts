/**
 * An error the person running labimg can act on: a bad flag or file, a directory another process holds, a
 * download that did not match its checksum. Commands print its message alone. Any other error is a bug in
 * labimg, and is printed with its stack so it can be reported.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

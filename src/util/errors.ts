/**
 * A problem with what the user gave us (flags, files, data): printed as ONE line and the
 * process exits with code 2. Anything else is a bug and gets a stack trace.
 */
export class UserError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) { super(message); this.name = 'UserError'; }
}

/** A command's deliberate non-zero exit status (its message, if any, is already printed). */
export class ExitStatus extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); this.name = 'ExitStatus'; }
}

// Configuration errors of the iptables layer: a rule file that does not parse or would not load.
// Like iptables-restore's "Error occurred at line: N", plus the token and what was expected.

export interface IptablesErrorWhere {
  /** File name (or "<input>"). */
  file?: string;
  /** 1-based line number in the file. */
  line?: number;
  /** The offending token, when there is one. */
  token?: string;
  /** What would have been accepted there. */
  expected?: string;
}

export class IptablesError extends Error {
  override name = "IptablesError";
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly token: string | undefined;
  readonly expected: string | undefined;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, where: IptablesErrorWhere = {}) {
    super(formatMessage(reason, where));
    this.reason = reason;
    this.file = where.file;
    this.line = where.line;
    this.token = where.token;
    this.expected = where.expected;
  }

  /** The same error located at a file and line (parsers add the place once they know it). */
  at(file: string | undefined, line: number | undefined): IptablesError {
    if (this.line !== undefined) return this;
    return new IptablesError(this.reason, { file, line, token: this.token, expected: this.expected });
  }
}

function formatMessage(reason: string, w: IptablesErrorWhere): string {
  const place = w.line !== undefined ? `${w.file ?? "<input>"}:${w.line}: ` : w.file ? `${w.file}: ` : "";
  const token = w.token !== undefined ? ` at "${w.token}"` : "";
  const expected = w.expected ? `; expected ${w.expected}` : "";
  return `${place}${reason}${token}${expected}`;
}

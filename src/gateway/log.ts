/** Structured JSON logs on stdout, one object per line. Never pass message content or keys here. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;

export class Logger {
  constructor(
    private readonly min: Level = 'info',
    private readonly base: Record<string, unknown> = {},
  ) {}
  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.min, { ...this.base, ...fields });
  }
  log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS[level] < LEVELS[this.min]) return;
    process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...this.base, ...fields }) + '\n');
  }
  /** start-up facts (port, fingerprint) print at any level: tools wait for them */
  notice(msg: string, f?: Record<string, unknown>) {
    process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), level: 'info', msg, ...this.base, ...f }) + '\n');
  }
  debug(msg: string, f?: Record<string, unknown>) {
    this.log('debug', msg, f);
  }
  info(msg: string, f?: Record<string, unknown>) {
    this.log('info', msg, f);
  }
  warn(msg: string, f?: Record<string, unknown>) {
    this.log('warn', msg, f);
  }
  error(msg: string, f?: Record<string, unknown>) {
    this.log('error', msg, f);
  }
}

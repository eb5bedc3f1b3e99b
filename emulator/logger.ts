/** Structured host logs: one JSON object per line on stdout (or a pretty line when asked). */
export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical';

export interface LogFields {
  invocationId?: string;
  functionName?: string;
  instanceId?: string;
  category?: string;
  /** Logged whatever the minimum level (e.g. the host's ready line). */
  always?: boolean;
  [key: string]: unknown;
}

export interface HostLogger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  child(fields: LogFields): HostLogger;
}

const levelRank: Record<LogLevel, number> = { trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5 };

export function normalizeLevel(level: string): LogLevel {
  return (level in levelRank ? level : 'information') as LogLevel;
}

export interface LoggerOptions {
  minLevel?: LogLevel;
  format?: 'json' | 'pretty';
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): HostLogger {
  const minRank = levelRank[options.minLevel ?? 'information'];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const format = options.format ?? 'json';
  return {
    log(level, message, fields) {
      if (levelRank[level] < minRank && !fields?.always) return;
      const record = { time: new Date().toISOString(), level, message, ...base, ...fields };
      if (format === 'json') {
        write(JSON.stringify(record));
      } else {
        const tags = [record.functionName, record.instanceId].filter(Boolean).join(' ');
        write(`[${record.time}] ${level.padEnd(11)} ${tags ? `(${tags}) ` : ''}${message}`);
      }
    },
    child(fields) {
      return createLogger(options, { ...base, ...fields });
    },
  };
}

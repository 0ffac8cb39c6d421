import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * JSON log lines on stderr (stdout carries progress and the summary). Synchronous, so the last
 * lines before an exit are never lost.
 */
export function createLogger(level: string): Logger {
  return pino(
    { name: 'dist-get', level, base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });

import { DistError } from '@distributor/core';

/** The output cannot be written: disk full, read-only, permission denied, missing directory. */
export class DiskError extends DistError {
  readonly errno: string;

  constructor(path: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'EIO';
    super('EDISK', `cannot write ${path}: ${describe(code, cause.message)}`, { cause });
    this.errno = code;
  }
}

function describe(code: string, message: string): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'disk full (free some space, or choose another place with -o)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (choose a writable place with -o)';
    case 'EROFS':
      return 'read-only file system (choose another place with -o)';
    case 'ENOENT':
      return 'directory does not exist (create it, or fix -o)';
    case 'EISDIR':
      return 'is a directory';
    default:
      return message;
  }
}

export function toDiskError(path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  return typeof e?.code === 'string' && e.code.startsWith('E')
    ? new DiskError(path, e)
    : (err as Error);
}

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The identity of one version of a file: a cache entry is valid only for exactly this. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface CachedHashes extends FileIdentity {
  pieceLength: number;
  /** Concatenated 20-byte piece digests. */
  pieces: Uint8Array;
}

interface StoredEntry extends FileIdentity {
  pieceLength: number;
  pieces: string;
}

const FILE_NAME = 'seeder-hash-cache.json';

/**
 * Piece hashes of files already hashed, kept in --state-dir so that a restart republishes
 * thousands of files without reading them again. Keyed by absolute path; an entry is used only
 * when size, mtime and inode all still match, so a replaced or rewritten file is hashed again.
 * The original tool wrote `.mdcache` files into the served tree; this never writes there.
 */
export class HashCache {
  private readonly file: string;
  private entries = new Map<string, StoredEntry>();
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly stateDir: string) {
    this.file = join(stateDir, FILE_NAME);
  }

  /** Loads the cache; a missing or corrupt file just means an empty cache. */
  async load(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, StoredEntry>;
      this.entries = new Map(Object.entries(parsed));
    } catch {
      this.entries = new Map();
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(path: string, id: FileIdentity): CachedHashes | null {
    const entry = this.entries.get(path);
    if (!entry || entry.size !== id.size || entry.mtimeMs !== id.mtimeMs || entry.ino !== id.ino) {
      return null;
    }
    return { ...entry, pieces: Buffer.from(entry.pieces, 'base64') };
  }

  set(path: string, hashes: CachedHashes): void {
    this.entries.set(path, {
      size: hashes.size,
      mtimeMs: hashes.mtimeMs,
      ino: hashes.ino,
      pieceLength: hashes.pieceLength,
      pieces: Buffer.from(hashes.pieces).toString('base64'),
    });
    this.scheduleSave();
  }

  delete(path: string): void {
    if (this.entries.delete(path)) this.scheduleSave();
  }

  /** Writes pending changes now (atomically: temp file + rename). */
  async flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      this.saving = this.saving.then(() => this.write()).catch(() => undefined);
    }
    await this.saving;
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    // Batch the writes of a startup scan over thousands of files into a few.
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saving = this.saving.then(() => this.write()).catch(() => undefined);
    }, 1000);
    this.saveTimer.unref();
  }

  private async write(): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)));
    await rename(tmp, this.file);
  }
}

import { realpath } from 'node:fs/promises';
import { basename, sep } from 'node:path';
import watcher from '@parcel/watcher';
import type { AsyncSubscription, Event as WatchEvent } from '@parcel/watcher';
import {
  FileChangedError,
  PeerListener,
  PieceHasher,
  SlotUnchokePolicy,
  TrackerClient,
  WireUploader,
  buildTorrent,
  choosePieceLength,
  generatePeerId,
  parseMetainfo,
  unsafeNameReason,
} from '@distributor/core';
import type { IncomingPeer, TorrentMeta, WireTransport } from '@distributor/core';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { SeederConfig } from './config.js';
import { resolveConfig } from './config.js';
import { HashCache } from './hash-cache.js';
import type { FileIdentity } from './hash-cache.js';
import { ChunkCache, FdCache, FilePieceReader } from './file-reader.js';
import { Announcer } from './announcer.js';
import { RegistryClient } from './registry-client.js';
import { SuperSeedPolicy } from './super-seed-policy.js';
import { inspect, listFiles, relPath } from './tree-scanner.js';
import type { Root } from './tree-scanner.js';

/** dist-get's Azureus-style peer id prefix (`-DG`), as the hex the wire reports peer ids in. */
const DIST_GET_PEER_ID_HEX = Buffer.from('-DG', 'latin1').toString('hex');

/** One published version of a file. */
export interface PublishedFile {
  infoHash: string;
  root: string;
  /** Root-relative path, '/'-separated: the NAME of /serve?NAME. */
  path: string;
  absPath: string;
  identity: FileIdentity;
  meta: TorrentMeta;
  torrent: Uint8Array;
  reader: FilePieceReader;
  /** Whether the tracker holds a lease for it (false: publish again on the next renew). */
  registered: boolean;
  uploaded: number;
  /** Null when super-seeding is off. */
  superSeed: SuperSeedPolicy<WireTransport> | null;
}

interface Candidate {
  root: Root;
  identity: FileIdentity;
  stableSince: number;
}

export interface SeederOptions extends Partial<SeederConfig> {
  dirs: string[];
  logger?: Logger;
  now?: () => number;
}

export interface SeederStats {
  published: number;
  hashedFiles: number;
  cachedFiles: number;
  peers: number;
  uploaded: number;
}

const same = (a: FileIdentity, b: FileIdentity) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

/**
 * dist-seed's engine: watches roots, settles and hashes files, publishes them to the tracker as
 * leases, announces them as a seed, and serves their pieces over the peer wire protocol.
 */
export class Seeder {
  readonly config: SeederConfig;
  readonly logger: Logger;
  readonly peerId = generatePeerId();
  readonly stats: SeederStats = {
    published: 0,
    hashedFiles: 0,
    cachedFiles: 0,
    peers: 0,
    uploaded: 0,
  };
  private readonly now: () => number;
  private readonly roots: Root[] = [];
  private readonly byPath = new Map<string, PublishedFile>();
  private readonly byHash = new Map<string, PublishedFile>();
  private readonly candidates = new Map<string, Candidate>();
  private readonly uploaders = new Map<string, Set<WireUploader>>();
  private readonly uploaderOf = new WeakMap<WireTransport, WireUploader>();
  private readonly hashQueue: string[] = [];
  /** Queued or being hashed right now. */
  private readonly hashPending = new Set<string>();
  private readonly cache: HashCache;
  private readonly fds: FdCache;
  private readonly chunks = new ChunkCache();
  private readonly policy: SlotUnchokePolicy;
  private readonly registry: RegistryClient;
  private readonly announcer: Announcer;
  private readonly hasher = new PieceHasher();
  private listener: PeerListener | null = null;
  private subscriptions: AsyncSubscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private hashing = false;
  private renewing = false;
  private scanning: Promise<void> | null = null;
  private stopped = false;
  private peerPort = 0;

  constructor(options: SeederOptions) {
    const { logger, now, ...config } = options;
    this.config = resolveConfig(config);
    this.logger = logger ?? pino({ level: this.config.logLevel, base: { service: 'dist-seed' } });
    this.now = now ?? Date.now;
    this.cache = new HashCache(this.config.stateDir);
    this.fds = new FdCache(this.config.maxOpenFiles);
    this.policy = new SlotUnchokePolicy({ slots: this.config.uploadSlots });
    const localAddress = this.config.bind || undefined;
    this.registry = new RegistryClient({
      url: this.config.tracker,
      token: this.config.token,
      ...(localAddress ? { localAddress } : {}),
    });
    this.announcer = new Announcer({
      tracker: new TrackerClient({
        url: this.config.tracker,
        retries: 1,
        timeoutMs: 5000,
        ...(localAddress ? { localAddress } : {}),
      }),
      peerId: this.peerId,
      port: () => this.peerPort,
      now: this.now,
      onError: (infoHash, err) =>
        this.logger.warn({ infoHash, err: err.message }, 'announce failed'),
    });
  }

  /** The peer wire port actually listened on. */
  get port(): number {
    return this.peerPort;
  }

  /** Published files, by root-relative path. */
  published(): PublishedFile[] {
    return [...this.byPath.values()];
  }

  publishedAt(root: string, path: string): PublishedFile | undefined {
    return [...this.byPath.values()].find((f) => f.root === root && f.path === path);
  }

  peersOf(infoHash: string): number {
    return this.uploaders.get(infoHash)?.size ?? 0;
  }

  async start(): Promise<void> {
    await this.cache.load();
    for (const dir of this.config.dirs) {
      const realDir = await realpath(dir).catch(() => {
        throw new Error(`cannot seed ${dir}: no such directory; create it or fix the path`);
      });
      this.roots.push({ name: basename(dir), dir, realDir });
    }
    this.listener = new PeerListener({
      ...(this.config.bind ? { host: this.config.bind } : {}),
      port: this.config.port,
      peerId: this.peerId,
      maxConnections: this.config.maxConnections,
      idleTimeoutMs: this.config.idleTimeoutMs,
      accepts: (infoHash) => this.byHash.has(infoHash),
      onPeer: (peer) => this.onPeer(peer),
    });
    this.listener.on('rejected', (remote: string, reason: string) =>
      this.logger.debug({ remote, reason }, 'peer rejected'),
    );
    this.peerPort = (await this.listener.listen()).port;
    for (const root of this.roots) {
      this.subscriptions.push(
        await watcher.subscribe(root.dir, (err, events) => {
          if (err) this.logger.warn({ root: root.dir, err: err.message }, 'watcher error');
          else void this.onEvents(root, events);
        }),
      );
    }
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => void fn(), ms);
      this.timers.push(t);
    };
    every(Math.max(50, Math.min(250, this.config.settleMs / 4)), () => this.settleTick());
    every(this.config.scanIntervalMs, () => this.scanAll());
    every(this.config.renewIntervalMs, () => this.renew());
    every(1000, () => this.announcer.tick());
    every(1000, () => {
      for (const file of this.byHash.values()) file.superSeed?.tick();
    });
    every(10_000, () => this.policy.rotate());
    await this.scanAll();
    this.logger.info(
      { roots: this.config.dirs, port: this.peerPort, tracker: this.config.tracker },
      'seeding',
    );
  }

  /** Withdraws every lease, announces stopped, closes connections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe().catch(() => undefined)));
    await this.listener?.close();
    const all = [...this.byHash.keys()];
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(
        all.slice(i, i + 16).map((h) => this.registry.withdraw(h).catch(() => undefined)),
      );
    }
    await this.announcer.stopAll();
    await this.cache.flush();
    this.fds.closeAll();
    await this.hasher.close();
  }

  /** Full reconcile: what is on disk against what is known. */
  scanAll(): Promise<void> {
    if (!this.scanning) {
      this.scanning = (async () => {
        try {
          const seen = new Set<string>();
          for (const root of this.roots) {
            for (const path of await listFiles(root.dir)) {
              seen.add(path);
              await this.observe(root, path);
            }
          }
          for (const path of [...this.byPath.keys(), ...this.candidates.keys()]) {
            if (!seen.has(path)) await this.observe(this.rootOf(path)!, path);
          }
        } finally {
          this.scanning = null;
        }
      })();
    }
    return this.scanning;
  }

  private rootOf(path: string): Root | undefined {
    return this.roots.find((r) => path.startsWith(r.dir + sep));
  }

  private async onEvents(root: Root, events: WatchEvent[]): Promise<void> {
    for (const event of events) {
      const kind = await inspect(root, event.path);
      if (kind.kind === 'dir') {
        // A new directory's subdirectories may never be reported (toolchain.md, mkdir -p
        // race): list it ourselves.
        for (const path of await listFiles(event.path)) await this.observe(root, path);
      } else if (kind.kind === 'gone') {
        const prefix = event.path + sep;
        for (const path of [...this.byPath.keys(), ...this.candidates.keys()]) {
          if (path === event.path || path.startsWith(prefix)) await this.observe(root, path);
        }
      } else {
        await this.observe(root, event.path);
      }
    }
  }

  /** Brings one path's state in line with the disk. */
  private async observe(root: Root, absPath: string): Promise<void> {
    if (this.stopped) return;
    const found = await inspect(root, absPath);
    const published = this.byPath.get(absPath);
    if (found.kind !== 'file') {
      this.candidates.delete(absPath);
      if (published) await this.withdraw(published, 'file is gone');
      return;
    }
    const { identity } = found;
    if (published && same(published.identity, identity)) return;
    if (published) await this.withdraw(published, 'file changed');
    if (identity.size === 0) {
      if (!this.candidates.has(absPath) && !published) {
        this.logger.info({ path: absPath }, 'skipping empty file');
      }
      this.candidates.set(absPath, { root, identity, stableSince: Infinity });
      return;
    }
    const known = this.candidates.get(absPath);
    if (known && same(known.identity, identity)) return;
    // A restart over already-hashed files: unchanged for longer than the settle time, and the
    // cache vouches for the hashes, so publish without waiting again.
    const settledAlready = this.now() - identity.mtimeMs >= this.config.settleMs;
    if (!known && settledAlready && this.cache.get(absPath, identity)) {
      this.candidates.set(absPath, { root, identity, stableSince: -Infinity });
      this.enqueueHash(absPath);
      return;
    }
    this.candidates.set(absPath, { root, identity, stableSince: this.now() });
  }

  private async settleTick(): Promise<void> {
    const now = this.now();
    for (const [path, c] of this.candidates) {
      if (now - c.stableSince < this.config.settleMs || this.hashPending.has(path)) continue;
      const found = await inspect(c.root, path);
      if (found.kind !== 'file') {
        this.candidates.delete(path);
        continue;
      }
      if (!same(found.identity, c.identity)) {
        c.identity = found.identity;
        c.stableSince = found.identity.size === 0 ? Infinity : now;
        continue;
      }
      this.enqueueHash(path);
    }
  }

  private enqueueHash(path: string): void {
    if (this.hashPending.has(path)) return;
    this.hashPending.add(path);
    this.hashQueue.push(path);
    void this.drainHashQueue();
  }

  private async drainHashQueue(): Promise<void> {
    if (this.hashing) return;
    this.hashing = true;
    try {
      while (this.hashQueue.length > 0 && !this.stopped) {
        const path = this.hashQueue.shift()!;
        const candidate = this.candidates.get(path);
        if (!candidate) {
          this.hashPending.delete(path);
          continue;
        }
        try {
          await this.hashAndPublish(path, candidate);
        } catch (err) {
          if (err instanceof FileChangedError) {
            candidate.stableSince = this.now();
            this.logger.info({ path }, 'file changed while hashing; waiting for it to settle');
          } else {
            this.candidates.delete(path);
            this.logger.error({ path, err: (err as Error).message }, 'cannot publish file');
          }
        } finally {
          this.hashPending.delete(path);
        }
      }
    } finally {
      this.hashing = false;
    }
  }

  private async hashAndPublish(absPath: string, candidate: Candidate): Promise<void> {
    const { root } = candidate;
    const name = basename(absPath);
    const unsafe = unsafeNameReason(name);
    if (unsafe) {
      this.candidates.delete(absPath);
      this.logger.warn({ path: absPath, reason: unsafe }, 'file name cannot be published');
      return;
    }
    let identity = candidate.identity;
    let hashes = this.cache.get(absPath, identity);
    const wantedPieceLength = this.config.pieceLength || choosePieceLength(identity.size);
    if (hashes && hashes.pieceLength !== wantedPieceLength) hashes = null;
    if (hashes) {
      this.stats.cachedFiles++;
    } else {
      const started = this.now();
      const result = await this.hasher.hashFile(absPath, { pieceLength: wantedPieceLength });
      identity = { size: result.length, mtimeMs: result.mtimeMs, ino: result.ino };
      if (!same(identity, candidate.identity)) {
        throw new FileChangedError(absPath, 'size or mtime moved since it settled');
      }
      hashes = { ...identity, pieceLength: result.pieceLength, pieces: result.pieces };
      this.cache.set(absPath, hashes);
      this.stats.hashedFiles++;
      this.logger.info({ path: absPath, bytes: identity.size, ms: this.now() - started }, 'hashed');
    }
    this.candidates.delete(absPath);
    const { torrent, infoHash } = buildTorrent({
      name,
      length: identity.size,
      pieceLength: hashes.pieceLength,
      pieces: hashes.pieces,
      announce: `${this.config.tracker}/announce`,
    });
    const meta = await parseMetainfo(torrent);
    const file: PublishedFile = {
      infoHash,
      root: root.name,
      path: relPath(root, absPath),
      absPath,
      identity,
      meta,
      torrent,
      registered: false,
      uploaded: 0,
      superSeed: this.config.superSeed
        ? new SuperSeedPolicy<WireTransport>({
            pieceCount: meta.pieceCount,
            pieceLength: meta.pieceLength,
            lastPieceLength: meta.lastPieceLength,
            now: this.now,
            advertise: (transport, index) => this.uploaderOf.get(transport)?.have(index),
          })
        : null,
      reader: new FilePieceReader(meta, absPath, identity, this.fds, this.chunks, () => {
        void this.observe(root, absPath);
      }),
    };
    const previous = this.byHash.get(infoHash);
    if (previous && previous.absPath !== absPath) {
      // The same content under two names has one info hash; serve and publish it once.
      this.logger.warn(
        { path: absPath, same: previous.absPath },
        'duplicate content; not published',
      );
      return;
    }
    this.byPath.set(absPath, file);
    this.byHash.set(infoHash, file);
    this.stats.published = this.byPath.size;
    await this.register(file);
  }

  private async register(file: PublishedFile): Promise<void> {
    try {
      await this.registry.publish({
        infoHash: file.infoHash,
        root: file.root,
        path: file.path,
        mtimeMs: file.identity.mtimeMs,
        torrent: file.torrent,
        ttlSec: this.config.leaseTtlSec,
      });
      if (this.byHash.get(file.infoHash) !== file) return;
      file.registered = true;
      this.logger.info({ path: `${file.root}/${file.path}`, infoHash: file.infoHash }, 'published');
      // add() is a no-op for a republished torrent; poke() re-announces it at once, because a
      // tracker that lost our lease (restart) lost our peer entry too.
      this.announcer.add(file.infoHash, () => file.uploaded);
      this.announcer.poke(file.infoHash);
      void this.announcer.tick();
    } catch (err) {
      this.logger.warn(
        { path: file.absPath, err: (err as Error).message },
        'publish failed; retrying at the next renew',
      );
    }
  }

  private async withdraw(file: PublishedFile, reason: string): Promise<void> {
    this.byPath.delete(file.absPath);
    if (this.byHash.get(file.infoHash) === file) this.byHash.delete(file.infoHash);
    this.stats.published = this.byPath.size;
    // Stop serving first: bytes of a changed file must not go out under the old torrent.
    for (const uploader of this.uploaders.get(file.infoHash) ?? []) uploader.close();
    this.uploaders.delete(file.infoHash);
    this.fds.evict(file.absPath);
    this.chunks.dropFile(file.reader.cacheKey);
    this.logger.info(
      { path: `${file.root}/${file.path}`, infoHash: file.infoHash, reason },
      'withdrawn',
    );
    await Promise.all([
      this.registry
        .withdraw(file.infoHash)
        .catch((err: Error) =>
          this.logger.warn({ infoHash: file.infoHash, err: err.message }, 'withdraw failed'),
        ),
      this.announcer.remove(file.infoHash),
    ]);
  }

  /** Renews every lease; republishes what the tracker lost (it restarted) or never got. */
  async renew(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    try {
      const files = [...this.byHash.values()];
      const registered = files.filter((f) => f.registered).map((f) => f.infoHash);
      let missing: string[] = [];
      if (registered.length > 0) {
        try {
          missing = await this.registry.renew(registered, this.config.leaseTtlSec);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'lease renewal failed');
          return;
        }
      }
      if (missing.length > 0) {
        this.logger.info({ count: missing.length }, 'tracker lost leases; republishing');
      }
      const missingSet = new Set(missing);
      for (const file of files) {
        if (missingSet.has(file.infoHash)) file.registered = false;
      }
      for (const file of files.filter((f) => !f.registered)) {
        if (this.byHash.get(file.infoHash) === file) await this.register(file);
      }
    } finally {
      this.renewing = false;
    }
  }

  private onPeer({ transport, infoHash, peerId }: IncomingPeer): void {
    const file = this.byHash.get(infoHash);
    if (!file) return transport.destroy();
    // Only dist-get peers see the partial bitfield: third-party clients (ctorrent, aria2c,
    // transmission) get the plain full bitfield they were tested against, and some of them
    // stall on a seed that advertises too little.
    const superSeed = peerId.startsWith(DIST_GET_PEER_ID_HEX) ? file.superSeed : null;
    const uploader = new WireUploader(transport, file.reader, {
      policy: this.policy,
      ...(superSeed ? { bitfield: superSeed.addPeer(transport) } : {}),
    });
    if (superSeed) {
      this.uploaderOf.set(transport, uploader);
      const { wire } = transport;
      const announced = () => {
        const held: number[] = [];
        for (let i = 0; i < file.meta.pieceCount; i++) if (wire.peerPieces.get(i)) held.push(i);
        superSeed.peerHas(transport, held);
      };
      wire.on('bitfield', announced);
      wire.on('have', (index: number) => superSeed.peerHas(transport, [index]));
      wire.on('request', (index: number, offset: number, length: number) =>
        superSeed.requested(transport, index, offset + length),
      );
      // A bitfield in the handshake's TCP segment was parsed before these listeners existed.
      announced();
      uploader.on('upload', (bytes: number, index: number) =>
        superSeed.uploaded(transport, index, bytes),
      );
      uploader.on('close', () => superSeed.removePeer(transport));
    }
    let set = this.uploaders.get(infoHash);
    if (!set) this.uploaders.set(infoHash, (set = new Set()));
    set.add(uploader);
    this.stats.peers++;
    const remote = `${transport.remoteAddress}:${transport.remotePort}`;
    uploader.on('upload', (bytes: number) => {
      file.uploaded += bytes;
      this.stats.uploaded += bytes;
    });
    uploader.on('violation', (reason: string) =>
      this.logger.warn({ remote, infoHash, reason }, 'peer dropped'),
    );
    uploader.on('read-error', (err: Error) =>
      this.logger.warn({ remote, infoHash, err: err.message }, 'read failed; peer dropped'),
    );
    uploader.on('close', () => {
      set.delete(uploader);
      this.stats.peers--;
    });
  }
}

/** Starts a seeder (library API used by the CLI and tests). */
export async function startSeeder(options: SeederOptions): Promise<Seeder> {
  const seeder = new Seeder(options);
  try {
    await seeder.start();
  } catch (err) {
    await seeder.stop().catch(() => undefined);
    throw err;
  }
  return seeder;
}

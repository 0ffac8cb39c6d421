export { Seeder, startSeeder } from './seeder.js';
export type { PublishedFile, SeederOptions, SeederStats } from './seeder.js';
export {
  ConfigError,
  DEFAULT_CONFIG,
  LOG_LEVELS,
  defaultStateDir,
  resolveConfig,
} from './config.js';
export type { LogLevel, SeederConfig } from './config.js';
export { HashCache } from './hash-cache.js';
export type { CachedHashes, FileIdentity } from './hash-cache.js';
export { CHUNK_SIZE, ChunkCache, FdCache, FilePieceReader } from './file-reader.js';
export { RegistryClient, RegistryError } from './registry-client.js';
export type { PublishRequest, RegistryClientOptions } from './registry-client.js';
export { Announcer } from './announcer.js';
export { isIgnoredName, isIgnoredPath } from './ignore-rules.js';
export { inspect, listFiles, relPath } from './tree-scanner.js';
export type { Inspection, Root } from './tree-scanner.js';
export { SuperSeedPolicy } from './super-seed-policy.js';
export type { SuperSeedPolicyOptions } from './super-seed-policy.js';

export { ListenError, startTracker, createStore } from './server.js';
export type { Tracker } from './server.js';
export { DEFAULT_CONFIG, ConfigError, LOG_LEVELS, resolveConfig } from './config.js';
export type { LogLevel, TrackerConfig, TrackerOptions } from './config.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { MemoryStore } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export * from './store/types.js';
export type { Asker, HandoutPolicy, SampleRequest } from './handout/policy.js';
export { RandomHandoutPolicy } from './handout/random-policy.js';
export {
  DEFAULT_QUERY_LIMITS,
  QueryFailure,
  parseAnnounceQuery,
  parseScrapeQuery,
  percentDecodeBytes,
} from './announce/query.js';
export type { AnnounceQuery, QueryLimits } from './announce/query.js';
export {
  encodeCompactAnnounce,
  encodeDictAnnounce,
  encodeFailure,
  encodeScrape,
} from './announce/response.js';
export type { AnnounceReply } from './announce/response.js';
export { compactAddress, ipBytes } from './announce/address.js';
export { fullName, newest, resolveName, unsafePathReason } from './names.js';
export type { Resolution } from './names.js';
export { bearerMatches } from './auth.js';
export { DEFAULT_LEASE_TTL_SEC } from './torrents-api.js';

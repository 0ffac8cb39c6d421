export { ListenError, startTracker, createStore, createHandoutPolicy } from './server.js';
export type { Tracker } from './server.js';
export { DEFAULT_CONFIG, ConfigError, HANDOUTS, LOG_LEVELS, resolveConfig } from './config.js';
export type { HandoutName, LogLevel, TrackerConfig, TrackerOptions } from './config.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { MemoryStore } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export * from './store/types.js';
export type { Asker, HandoutPolicy, SampleRequest } from './handout/policy.js';
export { RandomHandoutPolicy } from './handout/random-policy.js';
export { DEFAULT_FAR_SHARE, TopologyHandoutPolicy } from './handout/topology-policy.js';
export type { TopologyHandoutOptions } from './handout/topology-policy.js';
export { RedisStore, StoreUnavailableError } from './store/redis-store.js';
export type { RedisStoreOptions } from './store/redis-store.js';
export { parseRedisUrl } from './store/redis-url.js';
export type { RedisUrl } from './store/redis-url.js';
export { CidrMap, TopologyFileError } from './topology/cidr-map.js';
export { locationProblem, zoneOf } from './topology/location.js';
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
export { createHotPath } from './announce/handler.js';
export type { ConnectionMemo, HotPath, HotReply, HotRequest } from './announce/handler.js';
export { createRawFront } from './front/raw-front.js';
export { divertAccepts } from './front/handle-wire.js';
export type { Wire, WireEvents } from './front/wire.js';
export { BatchQueue } from './front/batch-queue.js';
export { ConnectionList } from './front/connection-list.js';
export type { Listed } from './front/connection-list.js';
export type { RawFront, RawFrontOptions } from './front/raw-front.js';
export { parseRequestHead } from './front/request-head.js';
export type { RequestHead } from './front/request-head.js';
export { fullName, newest, resolveName, unsafePathReason } from './names.js';
export type { Resolution } from './names.js';
export { bearerMatches } from './auth.js';
export { DEFAULT_LEASE_TTL_SEC } from './torrents-api.js';
export { SwarmStatusBoard } from './status/swarm-status.js';
export type {
  PeerStatus,
  ProgressReport,
  SwarmActivity,
  SwarmStatusOptions,
} from './status/swarm-status.js';
export { CompletionHistory } from './status/completion-history.js';
export { PeerTable } from './status/peer-table.js';
export type { PeerRow } from './status/peer-table.js';
export type { HistoryPoint } from './status/completion-history.js';
export { parseExtraParams } from './status/extra-params.js';
export type { ExtraAnnounceParams } from './status/extra-params.js';
export { announceRecorder } from './status/announce-recorder.js';
export { formatCompactAddress } from './status/address-text.js';
export type { AnnounceObserver } from './status/announce-recorder.js';
export { STATIC_DIR, statusRouter } from './status/status-api.js';
export type { SwarmDetailResponse, SwarmSummary, SwarmsResponse } from './status/status-api.js';

export { download, DownloadHandle, CLIENT_PEER_ID_PREFIX } from './download.js';
export type {
  DownloadOptions,
  DownloadProgress,
  DownloadSummary,
  DownloadPhase,
} from './download.js';
export { resolveConfig, ConfigError, CLIENT_DEFAULTS, DEFAULT_TRACKER } from './config.js';
export type { ClientConfig, ClientOptions, TorrentSource } from './config.js';
export { resolveTorrent, announceUrlsFor } from './resolve.js';
export { outputPathFor, partPathsFor, UnsafeNameError } from './output-path.js';
export { RarestFirstPicker, endgamePolicy } from './piece-picker.js';
export { PipelineDepthPolicy } from './pipeline-depth.js';
export { PeerSelectionPolicy, peerKey } from './peer-selection.js';
export { Announcer } from './announcer.js';
export type { AnnouncerOptions, AnnounceStats } from './announcer.js';
export { ActivePiece, BLOCK_SIZE } from './active-piece.js';
export { PieceBufferPool } from './piece-buffers.js';
export { PartFile } from './part-file.js';
export { DiskError } from './storage-errors.js';
export {
  ResumeRecorder,
  loadResumeRecord,
  bitGet,
  bitSet,
  emptyBitfield,
} from './resume-record.js';
export type { ResumeRecordFile } from './resume-record.js';
export { LocalPieces } from './local-pieces.js';
export { DownloadEngine } from './download-engine.js';
export type { BanEvent, EngineStats } from './download-engine.js';
export { NoPeersError, InterruptedError } from './errors.js';
export { EXIT_CODES, exitCodeFor, EXIT_CODES_HELP } from './exit-codes.js';
export { RateMeter } from './rate-meter.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { createLogger } from './logger.js';
export { formatSummary, formatBytes } from './progress-output.js';

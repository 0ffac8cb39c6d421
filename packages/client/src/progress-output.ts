import type cliProgress from 'cli-progress';
import type { DownloadHandle, DownloadProgress, DownloadSummary } from './download.js';

export type OutputMode = 'bar' | 'json' | 'quiet' | 'plain';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${Math.round(bytes)} B`
    : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${UNITS[unit]}`;
}

function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '--';
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const m = Math.floor(sec / 60);
  return m < 60 ? `${m}m${Math.round(sec % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/** The final line: size, time, average rate, and where the bytes came from. */
export function formatSummary(s: DownloadSummary): string {
  if (s.alreadyComplete) {
    return `${s.path}: already complete (${formatBytes(s.length)}, verified), nothing downloaded`;
  }
  const parts = [
    `${s.path}: ${formatBytes(s.length)} in ${formatDuration(s.elapsedSec)} ` +
      `(${formatBytes(s.averageRate)}/s)`,
    `from origin ${formatBytes(s.fromOrigin)}, from peers ${formatBytes(s.fromPeers)}`,
  ];
  if (s.reused > 0) parts.push(`resumed ${formatBytes(s.reused)}`);
  parts.push(`uploaded ${formatBytes(s.uploaded)}`);
  if (s.banned > 0) parts.push(`banned ${s.banned} peer(s)`);
  return parts.join(', ');
}

/**
 * Renders a download for a human (progress bar on a TTY, the final line otherwise) or for a
 * machine (`--json`: one JSON object per line, a `progress` line per second and a `summary`).
 */
export function attachOutput(
  handle: DownloadHandle,
  mode: OutputMode,
  /** The cli-progress module, loaded by the caller only for a TTY (it costs RSS on a fleet). */
  progressModule: typeof cliProgress | null,
  out: NodeJS.WriteStream = process.stdout,
): { finish(summary: DownloadSummary): void; abort(): void } {
  let bar: cliProgress.SingleBar | null = null;
  const writeJson = (obj: unknown) => out.write(`${JSON.stringify(obj)}\n`);

  if (mode === 'json') {
    handle.on('progress', (p: DownloadProgress) => writeJson({ type: 'progress', ...p }));
    handle.on('complete', (s: DownloadSummary) => writeJson({ type: 'complete', ...s }));
  } else if (mode === 'bar' && progressModule) {
    const cliProgress = progressModule;
    handle.on('resolved', ({ meta }: { meta: { length: number; name: string } }) => {
      bar = new cliProgress.SingleBar(
        {
          format: '{name} [{bar}] {percentage}% {have}/{size} {rate}/s {peers} peers ETA {etaText}',
          hideCursor: true,
          stream: out,
          barsize: 30,
          fps: 4,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(meta.length, 0, {
        name: meta.name,
        have: formatBytes(0),
        size: formatBytes(meta.length),
        rate: formatBytes(0),
        peers: 0,
        etaText: '--',
      });
    });
    handle.on('progress', (p: DownloadProgress) => {
      bar?.update(p.haveBytes, {
        have: formatBytes(p.haveBytes),
        rate: formatBytes(p.phase === 'seeding' ? p.uploadRate : p.downloadRate),
        peers: p.peers,
        etaText: p.phase === 'seeding' ? 'seeding' : formatDuration(p.etaSec),
      });
    });
    handle.on('complete', (s: DownloadSummary) => {
      bar?.update(s.length, { have: formatBytes(s.length), etaText: 'done' });
    });
  }

  return {
    finish(summary) {
      bar?.stop();
      bar = null;
      if (mode === 'json') writeJson({ type: 'summary', ...summary });
      else if (mode !== 'quiet') out.write(`${formatSummary(summary)}\n`);
    },
    abort() {
      bar?.stop();
      bar = null;
    },
  };
}

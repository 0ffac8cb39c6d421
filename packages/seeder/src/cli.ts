import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { startTracker } from '@distributor/tracker';
import { DEFAULT_CONFIG, LOG_LEVELS, defaultStateDir } from './config.js';
import type { LogLevel } from './config.js';
import { startSeeder } from './seeder.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('dist-seed')
  .usage('$0 DIR...\n\nWatch DIRs, publish every file to the tracker and seed it.')
  .option('tracker', {
    type: 'string',
    default: process.env['DIST_TRACKER'] || DEFAULT_CONFIG.tracker,
    describe: 'tracker base URL (env DIST_TRACKER)',
  })
  .option('port', {
    type: 'number',
    default: DEFAULT_CONFIG.port,
    describe: 'peer wire port (0 = any)',
  })
  .option('bind', {
    type: 'string',
    default: '',
    describe: 'local address to listen on and send tracker requests from (default: all)',
  })
  .option('state-dir', {
    type: 'string',
    default: defaultStateDir(),
    describe: 'where the hash cache lives (never inside a DIR)',
  })
  .option('token', {
    type: 'string',
    default: process.env['DIST_TOKEN'] || '',
    defaultDescription: '$DIST_TOKEN or none',
    describe: 'shared publish token of the tracker (env DIST_TOKEN)',
  })
  .option('with-tracker', {
    type: 'boolean',
    default: false,
    describe:
      'run the tracker in this process on the port of --tracker (all addresses, or the ' +
      'loopback address of --tracker)',
  })
  .option('piece-length', {
    type: 'number',
    default: 0,
    defaultDescription: 'chosen from the file size',
    describe: 'piece length in bytes (power of two, 16 KiB..16 MiB)',
  })
  .option('settle', {
    type: 'number',
    default: DEFAULT_CONFIG.settleMs / 1000,
    describe: 'seconds a file must stay unchanged before it is published',
  })
  .option('renew-interval', {
    type: 'number',
    default: DEFAULT_CONFIG.renewIntervalMs / 1000,
    describe: 'seconds between lease renewals',
  })
  .option('lease-ttl', {
    type: 'number',
    default: DEFAULT_CONFIG.leaseTtlSec,
    describe: 'lease TTL in seconds',
  })
  .option('scan-interval', {
    type: 'number',
    default: DEFAULT_CONFIG.scanIntervalMs / 1000,
    describe: 'seconds between full rescans (catches what the watcher missed)',
  })
  .option('upload-slots', {
    type: 'number',
    default: DEFAULT_CONFIG.uploadSlots,
    describe: 'peers served at once',
  })
  .option('super-seed', {
    type: 'boolean',
    default: DEFAULT_CONFIG.superSeed,
    describe:
      'send each piece to one peer before any piece to a second while the swarm lacks a piece ' +
      '(--no-super-seed: advertise every piece to every peer)',
  })
  .option('max-connections', {
    type: 'number',
    default: DEFAULT_CONFIG.maxConnections,
    describe: 'peer connection cap',
  })
  .option('log-level', {
    choices: LOG_LEVELS,
    default: DEFAULT_CONFIG.logLevel as LogLevel,
    describe: 'log level (JSON logs on stdout)',
  })
  .demandCommand(1, 'give at least one directory to seed')
  .strict()
  .help()
  .parse();

async function main(): Promise<void> {
  const closers: (() => Promise<void>)[] = [];
  if (argv['with-tracker']) {
    const url = new URL(argv.tracker);
    // A loopback tracker URL (tests, demos) is listened on as given; otherwise the tracker
    // listens on every address, as dist-tracker does, so the fleet can reach it.
    const loopback = /^127\.|^\[::1\]$/.test(url.hostname);
    const tracker = await startTracker({
      host: loopback ? url.hostname.replace(/^\[|\]$/g, '') : '0.0.0.0',
      port: Number(url.port || 80),
      token: argv.token,
      logLevel: argv['log-level'],
    });
    closers.push(() => tracker.close());
  }
  const seeder = await startSeeder({
    dirs: argv._.map(String),
    tracker: argv.tracker,
    port: argv.port,
    bind: argv.bind,
    stateDir: argv['state-dir'],
    token: argv.token,
    withTracker: argv['with-tracker'],
    pieceLength: argv['piece-length'],
    settleMs: argv.settle * 1000,
    renewIntervalMs: argv['renew-interval'] * 1000,
    leaseTtlSec: argv['lease-ttl'],
    scanIntervalMs: argv['scan-interval'] * 1000,
    uploadSlots: argv['upload-slots'],
    superSeed: argv['super-seed'],
    maxConnections: argv['max-connections'],
    logLevel: argv['log-level'],
  });
  closers.unshift(() => seeder.stop());
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    seeder.logger.info({ signal }, 'stopping: withdrawing leases');
    void (async () => {
      for (const close of closers) await close().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`dist-seed: ${err.message}\n`);
  process.exit(1);
});

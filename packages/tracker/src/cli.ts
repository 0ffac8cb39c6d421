import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, DEFAULT_CONFIG, HANDOUTS, LOG_LEVELS, resolveConfig } from './config.js';
import type { HandoutName, LogLevel } from './config.js';
import { ListenError, startTracker } from './server.js';

function die(message: string, code: number): never {
  process.stderr.write(`dist-tracker: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const d = DEFAULT_CONFIG;
  const argv = await yargs(hideBin(process.argv))
    .scriptName('dist-tracker')
    .usage('$0 [options]\n\nBitTorrent tracker and torrent registry for distributor.')
    .options({
      host: { type: 'string', default: d.host, describe: 'Address to listen on' },
      port: { type: 'number', default: d.port, describe: 'TCP port (0 = any free port)' },
      interval: {
        type: 'number',
        default: d.interval,
        describe: 'Announce interval in seconds; silent peers expire after 2x',
      },
      'min-interval': {
        type: 'number',
        describe: 'min interval sent to clients, in seconds',
        defaultDescription: 'interval / 2',
      },
      'max-numwant': {
        type: 'number',
        default: d.maxNumwant,
        describe: 'Most peers handed out per announce',
      },
      store: {
        type: 'string',
        default: d.store,
        describe: 'Where state lives: memory | redis://HOST:PORT[/DB] (shared by trackers)',
      },
      handout: {
        type: 'string',
        default: d.handout,
        choices: HANDOUTS,
        describe: 'Peer handout: random, or topology (same rack, then zone, then the rest)',
      },
      'handout-far-share': {
        type: 'number',
        default: d.handoutFarShare,
        describe: 'Share of a topology handout taken from other racks/zones (0 to 0.9)',
      },
      topology: {
        type: 'string',
        describe: 'File of "CIDR zone/rack" lines locating peers that send no location',
      },
      token: {
        type: 'string',
        describe: 'Shared token required to publish/withdraw torrents',
        defaultDescription: '$DIST_TOKEN, else none (publishing open)',
      },
      open: {
        type: 'boolean',
        default: d.open,
        describe: 'Track any info hash, not only published ones',
      },
      'public-url': {
        type: 'string',
        describe: 'Base URL put in served torrents',
        defaultDescription: 'http://<Host header of the request>',
      },
      'trust-proxy': {
        type: 'boolean',
        default: d.trustProxy,
        describe: 'Honour ip= and X-Forwarded-For (only behind your own proxy)',
      },
      'private-status': {
        type: 'boolean',
        default: d.privateStatus,
        describe: 'Require the token for the status page, /api/swarms and GET /torrents too',
      },
      'log-level': {
        type: 'string',
        default: d.logLevel,
        choices: LOG_LEVELS,
        describe: 'pino log level (JSON logs on stdout)',
      },
    })
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      const text = (msg ?? err?.message ?? 'bad arguments').replace(/\s*\n\s*/g, ' ');
      die(`${text} (see --help)`, 2);
    })
    .parseAsync();

  let config;
  try {
    config = resolveConfig({
      host: argv.host,
      port: argv.port,
      interval: argv.interval,
      minInterval: argv['min-interval'],
      maxNumwant: argv['max-numwant'],
      defaultNumwant: Math.min(d.defaultNumwant, argv['max-numwant']),
      store: argv.store,
      token: argv.token ?? process.env['DIST_TOKEN'] ?? '',
      open: argv.open,
      publicUrl: argv['public-url'] ?? '',
      trustProxy: argv['trust-proxy'],
      privateStatus: argv['private-status'],
      logLevel: argv['log-level'] as LogLevel,
      handout: argv.handout as HandoutName,
      handoutFarShare: argv['handout-far-share'],
      topology: argv.topology ?? '',
    });
  } catch (err) {
    if (err instanceof ConfigError) die(err.message, 2);
    throw err;
  }

  let tracker;
  try {
    tracker = await startTracker(config);
  } catch (err) {
    if (err instanceof ConfigError) die(err.message, 2);
    if (err instanceof ListenError) die(err.message, 1);
    throw err;
  }
  const stop = (signal: string) => {
    tracker.logger.info({ signal }, 'draining');
    tracker.close().then(
      () => process.exit(0),
      (err: unknown) => die(`shutdown failed: ${(err as Error).message}`, 1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => die(err instanceof Error ? err.message : String(err), 1));

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CLIENT_DEFAULTS, DEFAULT_TRACKER } from './config.js';
import type { ClientOptions } from './config.js';
import { download } from './download.js';
import { EXIT_CODES, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { createLogger } from './logger.js';
import { attachOutput } from './progress-output.js';
import type { OutputMode } from './progress-output.js';

// No top-level await: the bundle that the command runs is CommonJS, for V8's code cache
// (scripts/bundle-dist-get.js).
async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('dist-get')
    .usage('$0 NAME [options]\n$0 --latest [ROOT]\n$0 --torrent FILE_OR_URL')
    .command('$0 [name]', 'download a published file from the swarm', (y) =>
      y.positional('name', { type: 'string', describe: 'published name (path under its root)' }),
    )
    .option('tracker', {
      type: 'string',
      describe: `tracker URL (env DIST_TRACKER, default ${DEFAULT_TRACKER})`,
    })
    .option('o', { alias: 'output', type: 'string', describe: 'output file or directory' })
    .option('latest', { type: 'string', describe: 'the most recently updated file [under ROOT]' })
    .option('torrent', { type: 'string', describe: '.torrent file or URL to download' })
    .option('seed-time', {
      type: 'number',
      default: CLIENT_DEFAULTS.seedTimeSec,
      describe: 'seconds to seed after completion while peers still need pieces (0: exit)',
    })
    .option('port', {
      type: 'number',
      default: CLIENT_DEFAULTS.port,
      describe: 'port for incoming peer connections (a free one if taken; 0: any)',
    })
    .option('bind', { type: 'string', describe: 'local address to listen on and connect from' })
    .option('location', {
      type: 'string',
      describe: 'ZONE/RACK of this machine, for rack-aware peer handout (env DIST_LOCATION)',
    })
    .option('max-peers', { type: 'number', default: CLIENT_DEFAULTS.maxPeers })
    .option('peer-timeout', {
      type: 'number',
      default: CLIENT_DEFAULTS.peerTimeoutSec,
      describe: 'give up when no peer sent anything for this many seconds',
    })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing' })
    .option('json', { type: 'boolean', default: false, describe: 'JSON lines: progress, summary' })
    .option('log-level', {
      type: 'string',
      choices: ['silent', 'error', 'warn', 'info', 'debug'],
      default: CLIENT_DEFAULTS.logLevel,
      describe: 'log lines on stderr',
    })
    .epilogue(EXIT_CODES_HELP)
    .strict()
    .fail((msg, err) => {
      process.stderr.write(`dist-get: ${err?.message ?? msg} (see dist-get --help)\n`);
      process.exit(EXIT_CODES.usage);
    })
    .help()
    .parseAsync();

  const logLevel = argv['log-level'] as ClientOptions['logLevel'] & string;
  const logger = createLogger(logLevel);
  const options: ClientOptions = {
    seedTimeSec: argv['seed-time'],
    port: argv.port,
    maxPeers: argv['max-peers'],
    peerTimeoutSec: argv['peer-timeout'],
    quiet: argv.quiet,
    json: argv.json,
    logLevel,
  };
  const name = argv['name'] as string | undefined;
  if (name !== undefined) options.name = name;
  if (argv.latest !== undefined) options.latest = argv.latest === '' ? true : argv.latest;
  if (argv.torrent !== undefined) options.torrent = argv.torrent;
  if (argv.tracker !== undefined) options.tracker = argv.tracker;
  if (argv.o !== undefined) options.output = argv.o;
  if (argv.bind !== undefined) options.bind = argv.bind;
  if (argv.location !== undefined) options.location = argv.location;

  const mode: OutputMode = argv.json
    ? 'json'
    : argv.quiet
      ? 'quiet'
      : process.stdout.isTTY
        ? 'bar'
        : 'plain';
  const progressModule = mode === 'bar' ? (await import('cli-progress')).default : null;
  const handle = download({ ...options, logger });
  const output = attachOutput(handle, mode, progressModule);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal means "now": the part file and record are already consistent on disk.
    if (++signals > 1) process.exit(EXIT_CODES.interrupted);
    handle.stop(`interrupted by ${signal}; run the same command again to resume`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const summary = await handle;
    output.finish(summary);
    process.exitCode = EXIT_CODES.ok;
  } catch (err) {
    output.abort();
    process.stderr.write(`dist-get: ${(err as Error).message}\n`);
    process.exitCode = exitCodeFor(err);
  }
  // Worker threads and sockets are closed; exit explicitly so a stray handle cannot hang a fleet.
  setImmediate(() => process.exit(process.exitCode));
}

main().catch((err: unknown) => {
  process.stderr.write(`dist-get: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT_CODES.failure);
});

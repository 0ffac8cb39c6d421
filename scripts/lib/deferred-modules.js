// An esbuild plugin for the dist-get bundle (scripts/bundle-dist-get.js): the listed packages,
// each imported for its default export (a function), are evaluated at their first call instead
// of at start-up. string-width builds an Intl.Segmenter and a Unicode emoji regular expression
// as it loads (~9 ms of CPU, two copies), only for yargs' --help layout; every dist-get of a
// fleet starts at once, so start-up CPU is taken from the swarm.
//
// The stand-in module require()s the real one: esbuild turns a required ES module into a lazily
// initialised one, which an import statement never is.
const NAMESPACE = 'deferred-module';

export function deferredModules(names) {
  const filter = new RegExp(
    `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`,
  );
  return {
    name: 'deferred-modules',
    setup(build) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData?.deferred) return undefined;
        const real = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: { deferred: true },
        });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: [
          'let real;',
          'export default function deferred(...args) {',
          `  real ??= require(${JSON.stringify(args.path)}).default;`,
          '  return real(...args);',
          '}',
        ].join('\n'),
        loader: 'js',
        resolveDir: '/',
      }));
    },
  };
}

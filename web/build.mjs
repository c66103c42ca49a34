// Builds the web client into web/dist: one bundled, minified module (socket.io-client included),
// the page and its stylesheet. Every file in web/locales/ becomes a language of the interface, so
// adding one is adding a file. Usage: node web/build.mjs [--out DIR] [--watch]
import { build, context } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(here, 'dist'));
const watch = args.includes('--watch');

// A locale file is JSON: {"_name": "its own name", "key": "text with {placeholders}", ...}.
// Each is checked against English so that a missing or misspelt key fails the build, not a user.
function readLocales() {
  const folder = join(here, 'locales');
  const locales = {};
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
    const tag = file.slice(0, -'.json'.length);
    try {
      locales[tag] = JSON.parse(readFileSync(join(folder, file), 'utf8'));
    } catch (error) {
      throw new Error(`web/locales/${file}: ${error.message}`);
    }
  }
  const english = locales.en;
  if (!english) throw new Error('web/locales/en.json is required (the fallback language)');
  for (const [tag, messages] of Object.entries(locales)) {
    if (typeof messages._name !== 'string') throw new Error(`web/locales/${tag}.json: "_name" is missing`);
    const missing = Object.keys(english).filter((key) => !(key in messages));
    const unknown = Object.keys(messages).filter((key) => !(key in english));
    if (missing.length || unknown.length) {
      throw new Error(`web/locales/${tag}.json: missing [${missing.join(', ')}] unknown [${unknown.join(', ')}]`);
    }
  }
  return locales;
}

const localesPlugin = {
  name: 'parley-locales',
  setup(builder) {
    builder.onResolve({ filter: /^parley:locales$/ }, () => ({ path: 'locales', namespace: 'parley' }));
    builder.onLoad({ filter: /.*/, namespace: 'parley' }, () => ({
      contents: `export default ${JSON.stringify(readLocales())};`,
      loader: 'js',
      watchFiles: readdirSync(join(here, 'locales')).map((f) => join(here, 'locales', f)),
      watchDirs: [join(here, 'locales')],
    }));
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(here, 'public'), out, { recursive: true });

const options = {
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: !watch,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  plugins: [localesPlugin],
  logLevel: 'warning',
};

if (watch) {
  const ctx = await context(options);
  await ctx.watch();
  console.log(`web: watching, writing ${out}`);
} else {
  await build(options);
  console.log(`web: built ${out}`);
}

// Builds the explorer page from src/ into the package's static folder (or the folder given as the
// first argument): one minified ES module bundle, the diagram library split into chunks loaded only
// by the workflow pages, no source maps. The output depends only on src/ and the locked packages.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, '..', 'rpc', 'explorer_static'));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.jsx')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  chunkNames: 'chunks/[hash]',
  logLevel: 'warning',
});
cpSync(join(here, 'src', 'index.html'), join(outdir, 'index.html'));

// The package's JavaScript: one bundle per entry point (and one chunk the two share, for ESM),
// since node loading tsc's ~100 modules one by one was most of a cold import. tsc still emits
// the .d.ts files beside them (emitDeclarationOnly). The dependencies stay imports with the
// specifiers lib/ wrote, so that a consumer's fp-ts, io-ts and immer are the ones used.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const common = {
  entryPoints: { index: 'lib/index.ts', 'testing/index': 'lib/testing/index.ts' },
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  tsconfig: 'tsconfig.build.json',
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  // Not minified, so that a CPU profile names the functions; the maps lead to lib/, which ships.
  // No keepNames: its __name wrapper leaves arrow functions nameless in a profile. A clash of
  // two modules' top-level names renames one instead; spec/package.spec.ts checks the exports.
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning'
}

await Promise.all([
  build({ ...common, format: 'esm', outdir: 'dist/esm', splitting: true }),
  build({ ...common, format: 'cjs', outdir: 'dist/cjs' })
])
// The package is "type": "module"; this marks the CommonJS build as CommonJS for Node's resolver.
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n')

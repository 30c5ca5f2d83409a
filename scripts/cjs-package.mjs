// The package is "type": "module"; this marks the CommonJS build as CommonJS for Node's resolver.
import { writeFileSync } from 'node:fs'
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n')

import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The two imports of the SDK's `validation/ajv-provider.js` this plugin moves. */
const AJV_IMPORTS = /^import Ajv from 'ajv';\r?\nimport _addFormats from 'ajv-formats';\r?\n/m;
/** Where they go: the first line of the function that makes the SDK's default Ajv instance. */
const DEFAULT_INSTANCE = /^function createDefaultAjvInstance\(\) \{\r?\n/m;

/**
 * Makes the MCP SDK load Ajv (and ajv-formats) when its first default Ajv instance is made, not when its server
 * module is imported: `server/index.js` imports `ajv-provider.js`, which imports both at its top, so every
 * start-up evaluated them, where this server never validates a JSON Schema with Ajv (the SDK uses it for
 * elicitation answers only, and this server gives it its own validator). Measured: docs/benchmarks.md, "Start-up". The provider's code is otherwise the SDK's own: the imports become `require`s
 * at the start of `createDefaultAjvInstance`, which esbuild bundles as CommonJS wrappers evaluated where they are
 * called. `Ajv` and `ajv-formats` are CommonJS whose `module.exports` is the default export the imports took.
 * The build fails if the SDK's file no longer has this shape, rather than silently keeping the eager imports.
 */
export function lazyAjv(): Plugin {
  return {
    name: 'lazy-ajv',
    setup(build) {
      build.onLoad(
        { filter: /[\\/]@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/]validation[\\/]ajv-provider\.js$/ },
        async (args) => {
          const source = await readFile(args.path, 'utf8');
          if (!AJV_IMPORTS.test(source) || !DEFAULT_INSTANCE.test(source))
            throw new Error(`lazy-ajv: ${args.path} no longer has the imports and function this plugin rewrites`);
          const contents = source
            .replace(AJV_IMPORTS, '')
            .replace(
              DEFAULT_INSTANCE,
              (line) => `${line}    const Ajv = require('ajv');\n    const _addFormats = require('ajv-formats');\n`,
            );
          return { contents, loader: 'js' };
        },
      );
    },
  };
}

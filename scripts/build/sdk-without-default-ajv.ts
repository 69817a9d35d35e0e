import type { Plugin } from 'esbuild';

/** The SDK modules that import `validation/ajv-provider.js` only to make a default validator when none is given. */
const DEFAULT_VALIDATOR_IMPORTERS =
  /[\\/]@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/](server|client)[\\/]index\.js$/;

/** What they get instead: a class that says what to do if it is ever made. */
const STAND_IN = `export class AjvJsonSchemaValidator {
  constructor() {
    throw new Error('This build has no default JSON Schema validator: pass jsonSchemaValidator to the SDK Server or Client.');
  }
}
`;

/**
 * Keeps Ajv (about 280 KB of source with fast-uri and ajv-formats, held in the heap as long as the process lives) out of the server's start-up
 * chunk. The SDK's `server/index.js` and `client/index.js` import `validation/ajv-provider.js` at their top for a
 * default validator, made only when the caller passes none (`options?.jsonSchemaValidator ?? new
 * AjvJsonSchemaValidator()`). This server passes its own to its Server (src/server.ts: it never elicits), and the
 * command line passes the SDK's Ajv validator to its Client explicitly (src/cli/cli-session.ts), imported from
 * `@modelcontextprotocol/sdk/validation/ajv`, so Ajv lands in the command line's chunk only.
 */
export function sdkWithoutDefaultAjv(): Plugin {
  return {
    name: 'sdk-without-default-ajv',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/validation\/ajv-provider\.js$/ }, (args) =>
        DEFAULT_VALIDATOR_IMPORTERS.test(args.importer)
          ? { path: 'default-ajv-stand-in', namespace: 'sdk-without-default-ajv' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'sdk-without-default-ajv' }, () => ({
        contents: STAND_IN,
        loader: 'js',
      }));
    },
  };
}

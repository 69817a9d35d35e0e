export const SERVER_NAME = 'sandbox-mcp';
// Kept in step with package.json by the build (tsup's define); the fallback serves tests run from source.
declare const __VERSION__: string | undefined;
export const SERVER_VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

import type { Plugin } from 'esbuild';

/**
 * Bundles zod's English messages only. zod re-exports every locale it has (`z.locales`, about 340 KB of source,
 * 63 languages) from `v4/locales/index.js`, so a bundle parses all of them at every start-up; zod itself uses
 * English unless `z.config(z.locales.xx())` says otherwise, which neither this server nor the MCP SDK does.
 * In the bundle, `z.locales` therefore has `en` only.
 */
export function englishZodLocale(): Plugin {
  return {
    name: 'english-zod-locale',
    setup(build) {
      build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
        contents: 'export { default as en } from "./en.js";\n',
        loader: 'js',
      }));
    },
  };
}

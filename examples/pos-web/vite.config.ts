import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { defineConfig, type Plugin } from 'vite';

// Emits sw.js with the list of every file of the build (the app shell) and a version hash.
function serviceWorker(): Plugin {
  return {
    name: 'till-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      const version = createHash('sha256').update(files.sort().join('\n')).digest('hex').slice(0, 12);
      const shell = ['./', ...files.filter((f) => f !== 'index.html').map((f) => `./${f}`)];
      const source = readFileSync(new URL('./src/sw.js', import.meta.url), 'utf8')
        .replace('self.__SHELL__', JSON.stringify(shell))
        .replace('self.__VERSION__', JSON.stringify(version));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [serviceWorker()],
  build: { target: 'es2022', sourcemap: false, assetsInlineLimit: 0 },
});

/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is served by dcs-master from the same origin as its JSON API (/api/v1/...).
// `npm run dev` proxies /api to a running master's admin address (DCS_MASTER_URL, default
// the master's default admin address).
const master = process.env.DCS_MASTER_URL ?? 'http://127.0.0.1:7380';

export default defineConfig({
  plugins: [react()],
  // Relative asset URLs: the built index.html works wherever the master mounts it.
  base: './',
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': { target: master, changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});

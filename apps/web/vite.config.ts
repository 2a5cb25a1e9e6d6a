// The dashboard is bundled here and served by the api under /ui (apps/api/src/ui): every
// asset is local (no CDN), and the paths it fetches are the api's own, on the same origin.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  // esbuild compiles the TSX (React's automatic runtime); no plugin needed for a build.
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  // `npm run dev -w @mpiaas/web`: the api on :3000 answers the API calls.
  server: {
    proxy: Object.fromEntries(['/jobs', '/usage', '/healthz'].map((path) => [path, process.env.MPIAAS_API ?? 'http://127.0.0.1:3000'])),
  },
});

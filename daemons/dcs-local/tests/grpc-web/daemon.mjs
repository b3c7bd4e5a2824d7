// Starts the real dcs-local binary ($DCS_LOCAL_BIN) on a fresh data directory: `init`, then
// `run` with `env` over the defaults; resolves once it prints its addresses.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function startDaemon(env = {}, { web = false } = {}) {
  const bin = process.env.DCS_LOCAL_BIN;
  const dir = mkdtempSync(join(tmpdir(), 'dcs-local-web-'));
  const out = execFileSync(bin, ['init', '--data-dir', dir], { encoding: 'utf8' });
  const token = out.split('\n').find((l) => l.includes('token')).split('): ')[1].trim();
  const extra = {};
  if (web) {
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>the till</title>');
    extra.DCS_WEB__STATIC_DIR = join(dir, 'web');
  }
  const child = spawn(bin, ['run', '--data-dir', dir], {
    env: { ...process.env, DCS_LISTEN__POS: '127.0.0.1:0', DCS_LISTEN__ADMIN: '127.0.0.1:0', RUST_LOG: 'warn', ...extra, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const line = buf.split('\n').find((l) => l.startsWith('dcs-local listening'));
      if (line) resolve({ child, token, pos: /pos=(\S+)/.exec(line)[1] });
    });
    child.on('exit', (code) => reject(new Error(`dcs-local exited with ${code}`)));
  });
}

import { vi } from 'vitest';

/** A JSON Response as the master sends it. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

type Route = (url: string, init: RequestInit) => Response | Promise<Response>;

/** Stubs the global fetch with a router keyed by path (without the query); records calls. */
export function stubFetch(routes: Record<string, Route>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    calls.push({ url, init });
    const path = url.split('?')[0]!;
    const route = routes[path];
    if (!route) return json(404, { error: `no stub for ${path}` });
    return route(url, init);
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../test/fetch';
import { ApiError, createClient, encodeQueryValue } from './client';
import { api } from './index';
import { signedInAs } from '../test/session';
import { getAuthState, getToken, resetFromStorage, SESSION_ENDED, signIn, signOut } from './auth';

describe('the API client', () => {
  it('sends the bearer token and relative URLs, and decodes the answer', async () => {
    const { calls } = stubFetch({ '/api/v1/sales': () => json(200, { sales: [] }) });
    const client = createClient({ getToken: () => 'tok-1' });
    await expect(client.sales({ tenant: 'acme & co', from_hour: 1, to_hour: 2 })).resolves.toEqual({ sales: [] });
    expect(calls[0]!.url).toBe('/api/v1/sales?tenant=acme%20%26%20co&from_hour=1&to_hour=2');
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer tok-1');
  });

  it('asks for the lag history since a time, in Unix ms', async () => {
    const sample = { region: 1, at_ms: 1_795_600_000_000, lag: 3, health: 'alive' };
    const { calls } = stubFetch({ '/api/v1/regions/history': () => json(200, { samples: [sample] }) });
    const client = createClient({ getToken: () => 't' });
    await expect(client.regionHistory(1_795_599_000_000)).resolves.toEqual({ samples: [sample] });
    expect(calls[0]!.url).toBe('/api/v1/regions/history?since_ms=1795599000000');
    await client.regionHistory();
    expect(calls[1]!.url).toBe('/api/v1/regions/history');
  });

  it('throws an ApiError with the status and the server message', async () => {
    stubFetch({ '/api/v1/prices/A': () => json(400, { error: 'price_minor: a price is not below zero' }) });
    const client = createClient({ getToken: () => 't' });
    const e = await client.setPrice('A', -1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(400);
    expect((e as ApiError).message).toBe('price_minor: a price is not below zero');
  });

  it('reports an unreachable master as status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const e = await createClient({ getToken: () => 't' }).rejected().catch((x: unknown) => x);
    expect((e as ApiError).status).toBe(0);
    expect((e as ApiError).message).toMatch(/Could not reach the master/);
  });

  it('names a non-JSON error answer by status', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('Bad Gateway', { status: 502 })));
    const e = await createClient({ getToken: () => 't' }).rejected().catch((x: unknown) => x);
    expect((e as ApiError).status).toBe(502);
    expect((e as ApiError).message).toBe('HTTP 502: Bad Gateway');
  });

  it('marks a 403 as forbidden, without ending the session', async () => {
    stubFetch({ '/api/v1/rejected': () => json(403, { error: 'alice may not read what every tenant shares: that needs the viewer role there' }) });
    const onUnauthorized = vi.fn();
    const e = await createClient({ getToken: () => 't', onUnauthorized }).rejected().catch((x: unknown) => x);
    expect((e as ApiError).forbidden).toBe(true);
    expect((e as ApiError).message).toMatch(/alice may not/);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('on 401 calls onUnauthorized, then throws', async () => {
    stubFetch({ '/api/v1/stock': () => json(401, { error: 'send the admin token' }) });
    const onUnauthorized = vi.fn();
    const e = await createClient({ getToken: () => 'old', onUnauthorized }).stock().catch((x: unknown) => x);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect((e as ApiError).status).toBe(401);
    expect((e as ApiError).unauthorized).toBe(true);
  });

  it('sends PUT bodies as JSON and escapes the SKU in the path', async () => {
    const { calls } = stubFetch({ '/api/v1/prices/A%2FB': () => json(200, { sku: 'A/B', price_minor: 450 }) });
    await createClient({ getToken: () => 't' }).setPrice('A/B', 450);
    expect(calls[0]!.init.method).toBe('PUT');
    expect(calls[0]!.init.body).toBe('{"price_minor":450}');
  });

  it('leaves query-safe SKU characters as they are', () => {
    expect(encodeQueryValue('COFFEE-250G')).toBe('COFFEE-250G');
    expect(encodeQueryValue('A/B:C@(1)*')).toBe('A/B:C@(1)*');
    expect(encodeQueryValue('A&B#C+D%')).toBe('A%26B%23C%2BD%25');
  });
});

describe('the session (auth.ts)', () => {
  beforeEach(() => {
    vi.useRealTimers();
    sessionStorage.clear();
    resetFromStorage();
  });

  const grants = [{ tenant: 'acme', role: 'viewer' as const }];
  const login = (_u: string, init: RequestInit) => {
    const { name, password } = JSON.parse(String(init.body)) as { name: string; password: string };
    return name === 'alice' && password === 'long enough password'
      ? json(200, { token: 'sess-1', expires_ms: Date.now() + 60_000, name: 'alice', grants })
      : json(401, { error: 'wrong operator name or password' });
  };

  it('signs in with a name and password, keeps the session in sessionStorage, and sends its token', async () => {
    const { calls } = stubFetch({ '/api/v1/login': login, '/api/v1/stock': () => json(200, { stock: [] }) });
    const e = await signIn('alice', 'not it').catch((x: unknown) => x);
    expect((e as ApiError).status).toBe(401);
    expect((e as ApiError).message).toBe('wrong operator name or password');
    expect(getToken()).toBeNull();
    expect(calls[0]!.init.method).toBe('POST');
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBeUndefined();

    const s = await signIn('  alice ', 'long enough password');
    expect(s).toMatchObject({ token: 'sess-1', name: 'alice', grants });
    expect(getAuthState().session?.name).toBe('alice');
    expect(JSON.parse(sessionStorage.getItem('dcs-master.session')!)).toMatchObject({ token: 'sess-1', grants });
    await api.stock();
    expect((calls.at(-1)!.init.headers as Record<string, string>).Authorization).toBe('Bearer sess-1');
  });

  it('refuses blank fields without asking the master', async () => {
    const { calls } = stubFetch({});
    await expect(signIn(' ', 'x')).rejects.toMatchObject({ status: 400, message: 'Enter your operator name' });
    await expect(signIn('alice', '')).rejects.toMatchObject({ status: 400, message: 'Enter your password' });
    expect(calls).toHaveLength(0);
  });

  it('a 401 on any call ends the session with a notice', async () => {
    signedInAs(grants, 'alice', 'expired');
    const { calls } = stubFetch({ '/api/v1/stock': () => json(401, { error: 'the session expired' }) });
    await expect(api.stock()).rejects.toMatchObject({ status: 401 });
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer expired');
    expect(getAuthState()).toEqual({ session: null, notice: SESSION_ENDED });
    expect(SESSION_ENDED).toBe('Your session ended: sign in again');
    expect(sessionStorage.getItem('dcs-master.session')).toBeNull();
  });

  it('signing out ends the session on the master first, then here, without a notice', async () => {
    signedInAs(grants, 'alice', 'sess-9');
    const { calls } = stubFetch({ '/api/v1/logout': () => json(200, { signed_out: true }) });
    await signOut();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init.method).toBe('POST');
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer sess-9');
    expect(getAuthState()).toEqual({ session: null, notice: null });
    expect(sessionStorage.getItem('dcs-master.session')).toBeNull();
  });

  it('signs out here even when the master cannot be reached or already ended the session', async () => {
    signedInAs(grants, 'alice', 'gone');
    stubFetch({ '/api/v1/logout': () => json(401, { error: 'signed out' }) });
    await signOut();
    expect(getAuthState()).toEqual({ session: null, notice: null });
    signedInAs(grants, 'alice', 'x');
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await signOut();
    expect(getAuthState().session).toBeNull();
  });

  it('a session past its expiry is not kept, and one that expires while open ends with the notice', async () => {
    sessionStorage.setItem('dcs-master.session', JSON.stringify({ token: 't', name: 'a', grants, expires_ms: Date.now() - 1 }));
    resetFromStorage();
    expect(getAuthState()).toEqual({ session: null, notice: SESSION_ENDED });

    vi.useFakeTimers();
    sessionStorage.setItem('dcs-master.session', JSON.stringify({ token: 't', name: 'a', grants, expires_ms: Date.now() + 1_000 }));
    resetFromStorage();
    expect(getToken()).toBe('t');
    vi.advanceTimersByTime(1_001);
    expect(getAuthState()).toEqual({ session: null, notice: SESSION_ENDED });
    vi.useRealTimers();
  });

  it('ignores a malformed stored session', () => {
    sessionStorage.setItem('dcs-master.session', '{"token": 1}');
    resetFromStorage();
    expect(getAuthState()).toEqual({ session: null, notice: null });
  });
});

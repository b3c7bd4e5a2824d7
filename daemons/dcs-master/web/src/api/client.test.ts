import { beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../test/fetch';
import { ApiError, createClient, encodeQueryValue } from './client';
import { api } from './index';
import { getAuthState, getToken, resetFromStorage, SESSION_ENDED, signIn, signOut } from './auth';

describe('the API client', () => {
  it('sends the bearer token and relative URLs, and decodes the answer', async () => {
    const { calls } = stubFetch({ '/api/v1/sales': () => json(200, { sales: [] }) });
    const client = createClient({ getToken: () => 'tok-1' });
    await expect(client.sales({ tenant: 'acme & co', from_hour: 1, to_hour: 2 })).resolves.toEqual({ sales: [] });
    expect(calls[0]!.url).toBe('/api/v1/sales?tenant=acme%20%26%20co&from_hour=1&to_hour=2');
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer tok-1');
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
    sessionStorage.clear();
    resetFromStorage();
  });

  it('signs in only with a token the master accepts, and keeps it in sessionStorage', async () => {
    const { calls } = stubFetch({
      '/api/v1/regions': (_u, init) =>
        (init.headers as Record<string, string>).Authorization === 'Bearer good'
          ? json(200, { regions: [] })
          : json(401, { error: 'send the admin token as `Authorization: Bearer …`' }),
    });
    const e = await signIn('bad').catch((x: unknown) => x);
    expect((e as ApiError).status).toBe(401);
    expect((e as ApiError).message).toMatch(/refused this token/);
    expect(getToken()).toBeNull();

    await signIn('  good  ');
    expect(getToken()).toBe('good');
    expect(sessionStorage.getItem('dcs-master.admin-token')).toBe('good');
    expect(calls).toHaveLength(2);
  });

  it('a 401 on any call ends the session with a notice', async () => {
    sessionStorage.setItem('dcs-master.admin-token', 'expired');
    resetFromStorage();
    const { calls } = stubFetch({ '/api/v1/rejected': () => json(401, { error: 'send the admin token' }) });
    await expect(api.rejected()).rejects.toMatchObject({ status: 401 });
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer expired');
    expect(getAuthState()).toEqual({ token: null, notice: SESSION_ENDED });
    expect(SESSION_ENDED).toBe('Your session ended: sign in again');
    expect(sessionStorage.getItem('dcs-master.admin-token')).toBeNull();
  });

  it('signing out clears the token without a notice', () => {
    sessionStorage.setItem('dcs-master.admin-token', 'x');
    resetFromStorage();
    signOut();
    expect(getAuthState()).toEqual({ token: null, notice: null });
    expect(sessionStorage.getItem('dcs-master.admin-token')).toBeNull();
  });
});

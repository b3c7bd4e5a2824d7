// The till's traffic through nginx with the shipped ops/nginx/dcs.conf (TLS terminated by
// nginx, the daemon on loopback behind it), as scripts/test.d/45-grpc-web.sh sets it up:
// $DCS_PROXY_URL is nginx's HTTPS address (its certificate trusted via NODE_EXTRA_CA_CERTS),
// $DCS_POS_PORT the port its upstream points at, where this test starts dcs-local.
//   - gRPC-Web (the browser till) over HTTP/1.1 through `proxy_pass`, refusals included;
//   - native gRPC (a thin terminal) over HTTP/2 through `grpc_pass`;
//   - the till's files, with the security headers nginx adds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { PosService, Tender } from './gen/dcs/v1/pos_pb.js';
import { startDaemon } from './daemon.mjs';

const PROXY = process.env.DCS_PROXY_URL;
const usd = (minorUnits) => ({ minorUnits: BigInt(minorUnits), currencyCode: 'USD', exponent: 2 });

test('gRPC-Web, native gRPC and the till files all pass through nginx', { skip: !PROXY && 'no DCS_PROXY_URL' }, async () => {
  const { child, token } = await startDaemon({ DCS_LISTEN__POS: `127.0.0.1:${process.env.DCS_POS_PORT}` }, { web: true });
  try {
    const auth = (next) => async (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    };
    const web = createClient(PosService, createGrpcWebTransport({ baseUrl: PROXY, interceptors: [auth] }));
    const native = createClient(PosService, createGrpcTransport({ baseUrl: PROXY, interceptors: [auth] }));
    const anonymous = createClient(PosService, createGrpcWebTransport({ baseUrl: PROXY }));

    // A refusal's status and message come back through the proxy unchanged.
    await assert.rejects(anonymous.getCatalog({}), (e) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    assert.equal((await web.getCatalog({})).products.length, 2, 'gRPC-Web through proxy_pass');
    assert.equal((await native.getCatalog({})).products.length, 2, 'native gRPC through grpc_pass');

    await web.openSession({ idempotencyKey: 'open-n1', sessionId: 's-n1', cashier: 'cashier-1', openingFloat: usd(5000) });
    const sale = { idempotencyKey: 'sale-N1', sessionId: 's-n1', saleId: 'N-1', cart: { lines: [{ sku: 'MUG', quantity: 1 }] }, tender: Tender.CASH };
    const sold = await native.submitSale(sale);
    // The same key through the other transport: the first result, nothing sold twice.
    const again = await web.submitSale(sale);
    assert.equal(again.deduplicated, true);
    assert.deepEqual(again.eventIds, sold.eventIds);
    await assert.rejects(
      native.submitSale({ ...sale, idempotencyKey: 'sale-N2', saleId: 'N-2', cart: { lines: [{ sku: 'MUG', quantity: 0 }] } }),
      (e) => e.code === Code.InvalidArgument && e.rawMessage.includes('cart.lines[0].quantity'),
    );
    const day = await native.getDaySummary({ day: '' });
    assert.equal(day.salesCount, 1n);

    // A server stream (the sync bar's feed) reaches the client through nginx at once.
    const stream = web.watchSyncStatus({});
    const first = await stream[Symbol.asyncIterator]().next();
    assert.equal(first.done, false, 'the first sync status arrives');

    // The till's files over HTTPS, with nginx's security headers.
    const page = await fetch(`${PROXY}/index.html`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>the till<\/title>/);
    assert.match(page.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  } finally {
    child.kill('SIGTERM');
  }
});

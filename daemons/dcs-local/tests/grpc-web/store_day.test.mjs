// A store day against the real dcs-local binary over gRPC-Web, with a Connect-ES client
// generated from proto/ — the transport the browser till uses. The totals must equal the
// native gRPC test's (daemons/dcs-local/tests/pos_day.rs): one engine, one answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { PosService, Tender } from './gen/dcs/v1/pos_pb.js';
import { startDaemon } from './daemon.mjs';

const usd = (minorUnits) => ({ minorUnits: BigInt(minorUnits), currencyCode: 'USD', exponent: 2 });
const cart = (lines) => ({ lines: lines.map(([sku, quantity]) => ({ sku, quantity })) });

test('a store day over gRPC-Web gives the same totals as native gRPC', async () => {
  const { child, token, pos } = await startDaemon();
  try {
    const auth = (next) => async (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    };
    const client = createClient(PosService, createGrpcWebTransport({ baseUrl: `http://${pos}`, interceptors: [auth] }));
    const anonymous = createClient(PosService, createGrpcWebTransport({ baseUrl: `http://${pos}` }));
    await assert.rejects(anonymous.getCatalog({}), (e) => e instanceof ConnectError && e.code === Code.Unauthenticated);

    const catalog = await client.getCatalog({});
    assert.equal(catalog.products.length, 2);
    await client.openSession({ idempotencyKey: 'open-s1', sessionId: 's-1', cashier: 'cashier-1', openingFloat: usd(10000) });

    const priced = await client.priceCart({ cart: cart([['MUG', 2], ['COFFEE-250G', 1]]) });
    assert.equal(priced.subtotal.minorUnits, 2n * 1299n + 899n);
    assert.equal(priced.tax.minorUnits, 227n, 'the same tax as native gRPC');
    const sale = { idempotencyKey: 'sale-R1', sessionId: 's-1', saleId: 'R-1', cart: cart([['MUG', 2], ['COFFEE-250G', 1]]), tender: Tender.CASH, customerId: 'C-7' };
    const sold = await client.submitSale(sale);
    assert.equal(sold.total.minorUnits, priced.total.minorUnits);
    const again = await client.submitSale(sale);
    assert.equal(again.deduplicated, true);
    assert.deepEqual(again.eventIds, sold.eventIds);

    await assert.rejects(
      client.submitSale({ ...sale, idempotencyKey: 'sale-R2', saleId: 'R-2', cart: cart([['MUG', 0]]) }),
      (e) => e.code === Code.InvalidArgument && e.rawMessage.includes('cart.lines[0].quantity'),
    );
    const refund = await client.submitRefund({
      idempotencyKey: 'refund-F1', sessionId: 's-1', saleId: 'R-1', refundId: 'F-1',
      lines: [{ sku: 'MUG', quantity: 1 }], tender: Tender.CASH, reason: 'chipped',
    });
    assert.equal(refund.total.minorUnits, 1299n + 114n);
    await assert.rejects(
      client.submitRefund({ idempotencyKey: 'refund-F2', sessionId: 's-1', saleId: 'R-1', refundId: 'F-2', lines: [{ sku: 'MUG', quantity: 2 }], tender: Tender.CASH, reason: 'x' }),
      (e) => e.code === Code.FailedPrecondition,
    );
    const day = await client.getDaySummary({ day: '' });
    assert.equal(day.salesCount, 1n);
    assert.equal(day.refundCount, 1n);
    assert.equal(day.gross.minorUnits, priced.total.minorUnits);

    // The sync status stream (server streaming works over gRPC-Web).
    for await (const status of client.watchSyncStatus({})) {
      assert.equal(typeof status.outboxDepth, 'bigint');
      break;
    }
  } finally {
    child.kill('SIGTERM');
  }
});

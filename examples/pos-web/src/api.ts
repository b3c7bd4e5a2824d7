// The Connect-ES client of dcs-local's PosService over gRPC-Web, authenticated with the
// till's bearer token; every unary call gives up after 1.5 s so that offline shows fast.

import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { PosService } from '../gen/dcs/v1/pos_pb.js';

export type Pos = Client<typeof PosService>;
export const CALL_TIMEOUT_MS = 1500;

export function posClient(baseUrl: string, token: string): Pos {
  const auth: Interceptor = (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  return createClient(PosService, createGrpcWebTransport({ baseUrl, interceptors: [auth], defaultTimeoutMs: CALL_TIMEOUT_MS }));
}

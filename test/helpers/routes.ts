import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The names of a route's path parameters, in order (`*` for a wildcard). */
export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)|\*/g)].map((m) => m[1] ?? '*');
}

/** The route's URL with its parameters filled in (random uuids where `values` has none). */
export function fillPath(url: string, values: Record<string, string> = {}): string {
  return url.replace(/:([A-Za-z0-9_]+)|\*/g, (_m, name: string | undefined) => values[name ?? '*'] ?? randomUUID());
}

export interface RawAnswer {
  status: number;
  body: string;
}

/** Sends exactly this request line over a socket to the listening app: no URL normalisation on the way. */
export function rawRequest(
  app: FastifyInstance,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<RawAnswer> {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the app is not listening on a TCP port');
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(opts.body);
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: address.port, method: opts.method, path: opts.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

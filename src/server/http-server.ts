import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '../engine/database.js';
import { QDRANT_API_VERSION, serviceRoutes } from './collections.js';
import { HttpError, messageOf, statusOf } from './http-error.js';
import { pointRoutes } from './points.js';
import { routeTable } from './router.js';

export interface ServeOptions {
  /** Default 127.0.0.1: loopback unless the operator says otherwise. */
  host?: string;
  /** Default 6333 (Qdrant's); 0 picks a free port. */
  port?: number;
  /** Every request must carry it in the `api-key` header (or `Authorization: Bearer`). */
  apiKey?: string;
  /** Largest request body accepted (default 32 MiB, as Qdrant). */
  maxBodyBytes?: number;
  /** A request must arrive whole within this (default 30 s); headers within a third of it. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** On close, requests in flight get this long to finish before connections are cut (default 10 s). */
  drainTimeoutMs?: number;
}

const matchRoute = routeTable([...serviceRoutes, ...pointRoutes]);
// Handlers only read the query, so requests without one share an empty set.
const NO_QUERY = new URLSearchParams();
const HEALTH = new Set(['/healthz', '/livez', '/readyz']);
const SERVICE_INFO = { title: 'qdrant - vector search engine (quiver serve)', version: QDRANT_API_VERSION, commit: null };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * quiver serve: Qdrant's REST subset over one database, on Node's own http server. Node parses
 * HTTP and enforces the header and request timeouts; this module adds the body limit, the key
 * check, JSON, routing, and a drain on close.
 */
export class QuiverServer {
  private readonly server: http.Server;
  private readonly keyDigest: Buffer | null;
  private readonly maxBody: number;
  private inFlight = 0;
  private drained: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly db: Database,
    private readonly options: ServeOptions,
  ) {
    this.keyDigest = options.apiKey ? digest(options.apiKey) : null;
    this.maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
    const requestTimeout = options.requestTimeoutMs ?? 30_000;
    this.server = http.createServer({ requestTimeout, headersTimeout: Math.max(1000, Math.floor(requestTimeout / 3)), keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000 }, (req, res) => {
      void this.handle(req, res);
    });
    // A client that goes silent mid-request is dropped; others are never waiting on it.
    this.server.setTimeout(requestTimeout);
  }

  static async listen(db: Database, options: ServeOptions = {}): Promise<QuiverServer> {
    const s = new QuiverServer(db, options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(options.port ?? 6333, options.host ?? '127.0.0.1', () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get address(): { host: string; port: number; url: string } {
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `http://${host}:${a.port}` };
  }

  /** Stops accepting, lets requests in flight finish (their writes included), then closes the database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), new Promise((r) => setTimeout(r, this.options.drainTimeoutMs ?? 10_000).unref())]);
      }
      this.server.closeAllConnections();
      await stopped;
      await this.db.close();
    })();
    return this.closing;
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.keyDigest) return true;
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = req.headers['api-key'] ?? bearer;
    if (typeof given !== 'string') return false;
    // Digests have equal length, so the comparison time says nothing about the key.
    return timingSafeEqual(digest(given), this.keyDigest);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight++;
    const started = performance.now();
    try {
      if (this.closing) res.setHeader('connection', 'close');
      // Only the path routes (wait= and other query parameters change nothing here).
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const url = { pathname: q < 0 ? target : target.slice(0, q), searchParams: q < 0 ? NO_QUERY : new URLSearchParams(target.slice(q + 1)) };
      // Health probes answer without a key, as Qdrant's do (load balancers and orchestrators call them).
      if (HEALTH.has(url.pathname) && req.method === 'GET') {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${url.pathname.slice(1)} check passed`);
        return;
      }
      if (!this.authorized(req)) {
        req.resume();
        return this.reply(res, started, 401, null, 'Unauthorized: a valid api-key header is required');
      }
      if (url.pathname === '/' && req.method === 'GET') {
        // Service info is not wrapped in { result }: Qdrant's clients read `version` from the top level.
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SERVICE_INFO));
        return;
      }
      const found = matchRoute(req.method ?? 'GET', url.pathname);
      if (!found) {
        req.resume();
        return this.reply(res, started, 501, null, `Not implemented: ${req.method} ${url.pathname} is outside the Qdrant subset quiver serve speaks (README "Qdrant clients: quiver serve")`);
      }
      const body = await this.readBody(req);
      if (found.route.writes && this.db.readOnly) throw new HttpError(403, 'Forbidden: this quiver serve is read-only (--read-only)');
      const result = await found.route.handler({ db: this.db, params: found.params, body, query: url.searchParams });
      this.reply(res, started, 200, result);
    } catch (err) {
      const status = statusOf(err);
      if (status === 413) res.setHeader('connection', 'close');
      this.reply(res, started, status, null, messageOf(err));
    } finally {
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }

  private reply(res: http.ServerResponse, started: number, status: number, result: unknown, error?: string): void {
    if (res.headersSent || res.destroyed) return;
    const time = (performance.now() - started) / 1000;
    const body = error === undefined ? { result, status: 'ok', time } : { status: { error }, time };
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.byteLength }).end(bytes);
  }

  /** The JSON body, within the size limit; an empty body is `{}`. */
  private async readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBody) throw this.tooLarge(req);
    // Plain events rather than an async iterator: this runs on every request.
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > this.maxBody) reject(this.tooLarge(req));
        else chunks.push(chunk);
      });
      req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
      req.once('error', reject);
    });
    if (bytes.byteLength === 0) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `Format error in JSON body: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'Format error in JSON body: expected an object');
    return parsed as Record<string, unknown>;
  }

  private tooLarge(req: http.IncomingMessage): HttpError {
    // Stop reading: the rest of the body is not worth receiving. The reply closes the connection.
    req.pause();
    return new HttpError(413, `Payload too large: the request body exceeds ${this.maxBody} bytes`);
  }
}

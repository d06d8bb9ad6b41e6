import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpoint } from './env.js';

/**
 * An HTTP proxy in front of the test radosgw that can hold requests, as a store that hangs on
 * them: a held request is neither forwarded nor answered until the hold is lifted (then it goes
 * through, as after SIGCONT), while the others pass unchanged (headers included, so their
 * signatures still verify). A stuck store without stopping radosgw under every other request.
 */
export interface HoldProxy {
  endpoint: string;
  /** From now on, hold the requests `test` picks; null lifts the hold and forwards what it held. */
  hold(test: ((method: string, path: string) => boolean) | null): void;
  /** How many requests are held now (a client that gave up on one is no longer counted). */
  readonly holding: number;
  close(): Promise<void>;
}

export async function holdProxy(): Promise<HoldProxy> {
  const target = new URL(endpoint!);
  let test: ((method: string, path: string) => boolean) | null = null;
  const held = new Map<http.ServerResponse, () => void>();
  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };
  const server = http.createServer((req, res) => {
    if (test?.(req.method ?? '', decodeURIComponent(req.url ?? ''))) {
      // Not read either: the body waits in the socket, as it would for a stopped server.
      req.pause();
      held.set(res, () => forward(req, res));
      res.on('close', () => held.delete(res));
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold(t) {
      test = t;
      if (t !== null) return;
      const waiting = [...held.values()];
      held.clear();
      for (const go of waiting) go();
    },
    get holding() {
      return held.size;
    },
    async close() {
      test = null;
      for (const res of held.keys()) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

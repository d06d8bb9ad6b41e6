import * as net from 'node:net';

/**
 * The bench's leanest HTTP/1.1 client: one keep-alive `net` socket per concurrent client, with
 * Nagle off, writing request bytes built before the clock starts, and reading each reply by its
 * Content-Length (the servers measured always send one). The reply body is still parsed as JSON,
 * as any real client must. It exists so the HTTP overhead is not dominated by the measuring
 * client: fetch/undici and node:http's client each cost more per request than the server's share.
 * Not a general client: no chunked replies, no redirects, one request in flight per socket.
 */
export interface RawClient {
  /** Sends the prepared request `i` on socket `client` and resolves with the parsed reply body. */
  send: (i: number, client: number) => Promise<unknown>;
  close: () => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export function requestBytes(host: string, path: string, body: string): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.from(head + body);
}

class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private want = -1; // total bytes of the reply in flight (head + body), once the head is in
  private bodyAt = 0;
  private status = 0;
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  send(bytes: Buffer): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.want < 0) {
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!m) return this.fail(new Error('reply without content-length'));
      this.bodyAt = end + 4;
      this.want = this.bodyAt + Number(m[1]);
    }
    if (this.buf.length < this.want) return;
    const body = this.buf.toString('utf8', this.bodyAt, this.want);
    this.buf = this.buf.subarray(this.want);
    this.want = -1;
    const p = this.pending!;
    this.pending = null;
    const reply = JSON.parse(body) as { result?: unknown };
    if (this.status !== 200 || !Array.isArray(reply.result)) p.reject(new Error(`search answered ${this.status}`));
    else p.resolve(reply);
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function rawClient(base: string, clients: number, requests: Buffer[]): Promise<RawClient> {
  const u = new URL(base);
  const conns = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<Conn>((resolve, reject) => {
          const s = net.connect(Number(u.port), u.hostname, () => resolve(new Conn(s)));
          s.once('error', reject);
        }),
    ),
  );
  return { send: (i, c) => conns[c]!.send(requests[i]!), close: () => conns.forEach((c) => c.close()) };
}

/**
 * The floors bench:serve measures quiver serve against, each in its own process, answering every
 * request with the same canned 10-hit search reply:
 * - `http`: a bare node:http server, what loopback HTTP through Node's own server costs with no
 *   database behind it;
 * - `net`: a bare `net` server finding each request's end by its Content-Length (fine for the
 *   bench's own clients, not an HTTP server), what loopback TCP and the client cost alone.
 * Prints `listening on <url>` once it is.
 */
import * as http from 'node:http';
import * as net from 'node:net';

const K = 10;
const reply = JSON.stringify({ result: Array.from({ length: K }, (_, i) => ({ id: i, version: 0, score: 0.5, payload: { n: i }, vector: null })), status: 'ok', time: 0 });

function httpFloor(): net.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) }).end(reply));
  });
}

function netFloor(): net.Server {
  const bytes = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(reply)}\r\n\r\n${reply}`);
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = /\r\ncontent-length: *(\d+)/i.exec(buf.toString('latin1', 0, end));
        const total = end + 4 + Number(length?.[1] ?? 0);
        if (buf.length < total) return;
        buf = buf.subarray(total);
        socket.write(bytes);
      }
    });
  });
}

const server = process.argv[2] === 'net' ? netFloor() : httpFloor();
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(server.address() as net.AddressInfo).port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

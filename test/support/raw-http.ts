import { connect } from 'node:net';

export interface RawResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * A request written the way Go's net/http client writes it (`Host`, `User-Agent`,
 * `Content-Length`, the other headers sorted by name, then the transport's
 * `Accept-Encoding: gzip`), so tests can replay what the atmos binary puts on the wire.
 */
export function goRequest(method: string, host: string, path: string, headers: Record<string, string>, body?: string): string {
  const { 'User-Agent': userAgent = 'Go-http-client/1.1', ...rest } = headers;
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, `User-Agent: ${userAgent}`];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  for (const name of Object.keys(rest).sort()) lines.push(`${name}: ${rest[name]}`);
  lines.push('Accept-Encoding: gzip');
  return lines.join('\r\n') + '\r\n\r\n' + (body ?? '');
}

/** Sends these exact bytes to the server and reads one response (Content-Length or chunked). */
export function sendRaw(url: string, bytes: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response; got: ${buf.toString('utf8')}`));
    }, 10_000);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = tryParse(buf);
      if (parsed) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed);
      }
    });
    socket.write(bytes);
  });
}

function tryParse(buf: Buffer): RawResponse | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...headerLines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const statusCode = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1]);
  const rest = buf.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return null;
      const size = parseInt(rest.subarray(at, nl).toString('latin1'), 16);
      if (size === 0) return { statusCode, headers, body: Buffer.concat(chunks).toString('utf8') };
      if (rest.length < nl + 2 + size + 2) return null;
      chunks.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (rest.length < length) return null;
  return { statusCode, headers, body: rest.subarray(0, length).toString('utf8') };
}

/** A real SMTP server on loopback for the tests (smtp-server), and what it received. */
import { createServer, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
export class Inbox {
  received: Received[] = [];
  server: SMTPServer | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onData: (stream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.received.push({ from: String(session.envelope.mailFrom && session.envelope.mailFrom.address), to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          done();
        });
      },
    });
    await new Promise<void>((ok) => this.server!.listen(port, '127.0.0.1', ok));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => this.server?.close(() => ok()));
    this.server = undefined;
  }
}

/** A port with nothing listening on it. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** The body of a received message, quoted-printable soft breaks undone. */
export function bodyOf(raw: string): string {
  return raw.replace(/=\r\n/g, '').replace(/=3D/g, '=');
}

/** The token of the first link to `path` in a received message. */
export function tokenIn(raw: string, path: string): string | undefined {
  return new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`).exec(bodyOf(raw))?.[1];
}

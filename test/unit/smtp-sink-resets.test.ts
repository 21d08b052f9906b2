import net from 'node:net';
import { SmtpSink } from '../fakes/smtp-sink';

/**
 * A worker killed mid-SMTP-session resets its sockets. smtp-server re-emits
 * each reset on the server; the sink must hear them all (before, the second
 * one was an uncaught 'error' and failed worker-crash.test.ts on CI).
 */
describe('SmtpSink survives clients that reset their connections', () => {
  it('records each reset and keeps accepting', async () => {
    const sink = await new SmtpSink().start();
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect(sink.port, '127.0.0.1');
          s.once('error', reject);
          s.once('data', () => {
            s.write('EHLO killed.example\r\nMAIL FROM:<a@killed.example>\r\n');
            setTimeout(() => {
              s.resetAndDestroy();
              resolve();
            }, 50);
          });
        });
      }
      const deadline = Date.now() + 5_000;
      while (sink.errors.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(sink.errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
      // Still serving: a new client gets the greeting.
      const greeting = await new Promise<string>((resolve, reject) => {
        const s = net.connect(sink.port, '127.0.0.1');
        s.once('error', reject);
        s.once('data', (d) => {
          s.end('QUIT\r\n');
          resolve(d.toString());
        });
      });
      expect(greeting).toMatch(/^220 /);
    } finally {
      await sink.stop();
    }
  });
});

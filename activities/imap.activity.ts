import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { ImapFlow } from 'imapflow';
import { notifyAlert, recordAlert } from '../services/alerts';
import type { Config } from '../core/config';
import type { SecretBox } from '../core/crypto';
import {
  advanceImapCursor,
  loadImapAccount,
  markImapAuthFailed,
  markImapSession,
  type ImapAccount,
} from '../db/repositories/mailbox-imap';
import { ingestInbound } from '../services/inbound/ingest';
import { MAX_PARSED_BYTES } from '../services/inbound/parse';
import type { WatchInput, WatchResult } from '../workflows/messages/imap-watcher';
import type { ActivityDeps } from './deps';

/** What the watch activity takes beyond ActivityDeps (worker/main.ts fills it from config). */
export interface ImapActivityDeps {
  imap?: {
    /** Opens the stored IMAP passwords and provider settings. */
    box: SecretBox;
    /** The feedback path's settings (bounce thresholds, ALERT_WEBHOOK_URL). */
    config: Config;
    /** Where the server offers no IDLE: how often the inbox is polled (IMAP_POLL_SECONDS). */
    pollMs: number;
    /** How often a session heartbeats while it waits (default 20 s). */
    heartbeatMs?: number;
    /** Connection, greeting and socket timeouts (default 30 s). */
    timeoutMs?: number;
  };
}

/** Messages fetched from the server per round trip. */
const FETCH_BATCH = 20;
/** After this many failed attempts in a row to reach the server, one alert. */
const UNREACHABLE_ALERT_ATTEMPT = 6;
/** A session that ran this long did real work: a dropped connection then ends it normally. */
const HEALTHY_SESSION_MS = 60_000;

class SessionClosed extends Error {}

/** A short, credential-free description of why a session failed (stored and shown as lastError). */
export function describeImapError(err: unknown): string {
  const e = err as { code?: string; authenticationFailed?: boolean; message?: string; responseStatus?: string };
  if (e?.authenticationFailed) return 'authentication failed';
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return 'host not found';
  if (e?.code === 'ETIMEDOUT' || e?.code === 'ETIMEOUT' || /timeout/i.test(e?.message ?? '')) return 'timed out';
  if (e?.code?.startsWith?.('ERR_TLS') || /certificate|ssl|tls/i.test(e?.message ?? '')) return 'TLS handshake failed';
  if (err instanceof SessionClosed) return 'connection closed by the server';
  return 'IMAP error';
}

export function imapActivities(deps: ActivityDeps & ImapActivityDeps) {
  const { pool, logger } = deps;

  function settings() {
    if (!deps.imap) throw new Error('this worker has no IMAP settings (ImapActivityDeps.imap)');
    return deps.imap;
  }

  async function raise(kind: string, account: ImapAccount, message: string): Promise<void> {
    const row = await recordAlert(pool, logger, { clientId: account.clientId, kind, subjectType: 'mailbox', subjectId: account.mailboxId, message });
    await notifyAlert(settings().config.ALERT_WEBHOOK_URL, logger, row);
  }

  /**
   * One IMAP session of a mailbox's inbox watcher (imapWatcherWorkflow): log
   * in, open INBOX read-only (nothing is marked seen), ingest every message
   * past the stored cursor, then wait for new mail on IDLE (or poll every
   * pollMs) until `sessionMs` have passed, heartbeating. Returns
   * `auth_failed` once the server refuses the credentials (with an alert, the
   * first time), `stopped` when the settings are gone; a server that cannot
   * be reached throws, for Temporal to retry with backoff.
   */
  async function watchInbox(input: WatchInput): Promise<WatchResult> {
    const s = settings();
    const ctx = Context.current();
    const startedAt = deps.clock().getTime();
    const endsAt = startedAt + input.sessionMs;
    const account = await loadImapAccount(pool, s.box, input.mailboxId);
    if (!account) return { kind: 'stopped', messages: 0, reason: 'the mailbox has no IMAP settings' };
    if (account.status === 'auth_failed' && ctx.info.attempt === 1) {
      // Refused before and not changed since: a restarted watcher waits for new settings too.
      return { kind: 'auth_failed', messages: 0 };
    }
    const log = logger.child({ mailboxId: account.mailboxId, clientId: account.clientId });
    const timeoutMs = s.timeoutMs ?? 30_000;
    const client = new ImapFlow({
      host: account.host,
      port: account.port,
      secure: account.tls,
      auth: { user: account.user, pass: account.password },
      logger: false,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: 10 * 60_000,
      // Re-issue IDLE now and then: servers and NATs drop connections silent for long (RFC 2177 says within 29 minutes).
      maxIdleTime: 4 * 60_000,
    });
    let wake: (() => void) | null = null;
    let dirty = true;
    let closed = false;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    client.on('error', (err: Error) => log.warn({ err: describeImapError(err) }, 'IMAP connection error'));
    client.on('exists', () => {
      dirty = true;
      poke();
    });
    client.on('close', () => {
      closed = true;
      poke();
    });
    const onAbort = () => poke();
    ctx.cancellationSignal.addEventListener('abort', onAbort);

    let messages = 0;
    try {
      try {
        await client.connect();
      } catch (err) {
        if ((err as { authenticationFailed?: boolean }).authenticationFailed) {
          const news = await markImapAuthFailed(pool, account.mailboxId, 'authentication failed');
          log.warn({}, 'IMAP server refused the credentials; the inbox watcher waits for new settings');
          if (news) {
            await raise('imap_auth_failed', account,
              `mailbox ${account.mailboxId}: the IMAP server ${account.host}:${account.port} refused its credentials; ` +
              'replies are not read until new IMAP settings are stored (PUT /v1/mailboxes/:id/imap). Sending goes on.');
          }
          return { kind: 'auth_failed', messages: 0 };
        }
        if (ctx.info.attempt === UNREACHABLE_ALERT_ATTEMPT) {
          await raise('imap_unreachable', account,
            `mailbox ${account.mailboxId}: the IMAP server ${account.host}:${account.port} could not be reached ` +
            `${UNREACHABLE_ALERT_ATTEMPT} times in a row (${describeImapError(err)}); retrying with backoff. Sending goes on.`);
        }
        throw new Error(`IMAP connect failed: ${describeImapError(err)}`, { cause: err });
      }
      await markImapSession(pool, account.mailboxId, new Date(startedAt));
      const box = await client.mailboxOpen('INBOX', { readOnly: true });
      const uidValidity = BigInt(box.uidValidity);
      const scope = { mailboxId: account.mailboxId, clientId: account.clientId };
      let lastUid = account.uidValidity === uidValidity ? account.lastUid : null;
      const hasIdle = client.capabilities.has('IDLE');

      const ingestNew = async () => {
        dirty = false;
        // First session (or a new UIDVALIDITY): what arrived since the settings were stored, a day's slack for the server's SEARCH dates.
        const uids = lastUid === null
          ? ((await client.search({ since: new Date(account.createdAt.getTime() - 86_400_000) }, { uid: true })) || [])
          : ((await client.search({ uid: `${lastUid + 1n}:*` }, { uid: true })) || []);
        const fresh = uids.map((u) => BigInt(u)).filter((u) => lastUid === null || u > lastUid).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        for (let i = 0; i < fresh.length; i += FETCH_BATCH) {
          const batch = fresh.slice(i, i + FETCH_BATCH);
          const fetched: { uid: bigint; source: Buffer; at: Date }[] = [];
          for await (const m of client.fetch(batch.map(String).join(','), { uid: true, internalDate: true, source: { maxLength: MAX_PARSED_BYTES } }, { uid: true })) {
            if (m.source) fetched.push({ uid: BigInt(m.uid), source: m.source, at: m.internalDate instanceof Date ? m.internalDate : new Date(m.internalDate ?? startedAt) });
          }
          fetched.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
          for (const m of fetched) {
            await ingestInbound({ pool, temporal: deps.client, config: s.config, box: s.box, log }, { source: 'imap', scope, raw: m.source, receivedAt: m.at });
            await advanceImapCursor(pool, account.mailboxId, uidValidity, m.uid);
            lastUid = m.uid;
            messages += 1;
            ctx.heartbeat({ uid: m.uid.toString() });
          }
        }
        if (lastUid === null) {
          // An empty inbox: start after what is there now.
          const next = BigInt(box.uidNext ?? 1) - 1n;
          await advanceImapCursor(pool, account.mailboxId, uidValidity, next);
          lastUid = next;
        }
      };

      const heartbeatMs = s.heartbeatMs ?? 20_000;
      let nextPollAt = Date.now() + s.pollMs;
      for (;;) {
        if (dirty) await ingestNew();
        ctx.heartbeat({ uid: lastUid?.toString() ?? null });
        const left = endsAt - deps.clock().getTime();
        if (left <= 0 || ctx.cancellationSignal.aborted) break;
        if (closed) throw new SessionClosed('connection closed');
        // IDLE: imapflow idles by itself and reports new mail as `exists`. Without IDLE: poll every pollMs.
        const until = hasIdle ? heartbeatMs : Math.max(0, nextPollAt - Date.now());
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.max(1, Math.min(left, heartbeatMs, until)));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
        if (closed) throw new SessionClosed('connection closed');
        if (!hasIdle && Date.now() >= nextPollAt) {
          await client.noop();
          dirty = true;
          nextPollAt = Date.now() + s.pollMs;
        }
      }
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new CancelledFailure('session cancelled');
      return { kind: 'session_ended', messages, idle: hasIdle };
    } catch (err) {
      if (err instanceof SessionClosed && deps.clock().getTime() - startedAt >= HEALTHY_SESSION_MS) {
        log.info({}, 'IMAP connection closed by the server; a new session starts');
        return { kind: 'session_ended', messages, idle: true };
      }
      throw err;
    } finally {
      ctx.cancellationSignal.removeEventListener('abort', onAbort);
      if (!closed) {
        // A polite LOGOUT, but never waiting on a server that went quiet.
        const bye = client.logout().catch(() => undefined);
        await Promise.race([bye, new Promise((r) => setTimeout(r, 5000).unref())]);
        client.close();
      }
    }
  }

  return { watchInbox };
}

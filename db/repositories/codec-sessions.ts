import type { Pool } from 'pg';
import { uuidv7 } from '../../core/ids';

/** Expired or revoked sessions are kept this long after they end (who signed in when), then deleted. */
const KEEP_ENDED_DAYS = 7;

/** A new session for a token's hash, lasting lifetimeSeconds from now. */
export async function createCodecSession(pool: Pool, tokenHash: string, lifetimeSeconds: number): Promise<{ id: string; expiresAt: Date }> {
  await pool.query(
    `DELETE FROM codec_sessions WHERE expires_at < now() - make_interval(days => $1) OR revoked_at < now() - make_interval(days => $1)`,
    [KEEP_ENDED_DAYS],
  );
  const id = uuidv7();
  const { rows } = await pool.query<{ expires_at: Date }>(
    'INSERT INTO codec_sessions (id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at',
    [id, tokenHash, lifetimeSeconds],
  );
  return { id, expiresAt: rows[0]!.expires_at };
}

/** Whether the session with this token hash exists, has not expired and was not revoked. */
export async function isCodecSessionActive(pool: Pool, tokenHash: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'SELECT 1 FROM codec_sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()',
    [tokenHash],
  );
  return (rowCount ?? 0) > 0;
}

/** Ends one session (logout). */
export async function revokeCodecSession(pool: Pool, tokenHash: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'UPDATE codec_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL',
    [tokenHash],
  );
  return (rowCount ?? 0) > 0;
}

/** Ends every open session; returns how many. */
export async function revokeAllCodecSessions(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    'UPDATE codec_sessions SET revoked_at = now() WHERE revoked_at IS NULL AND expires_at > now()',
  );
  return rowCount ?? 0;
}

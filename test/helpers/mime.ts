import { parseHeaders } from '../fakes/smtp-sink';

/** A leaf part of a message as the recipient's client decodes it (enough MIME for what nodemailer writes). */
export interface MimeLeaf {
  type: string;
  body: string;
}

function decode(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '').toLowerCase()) {
    case 'quoted-printable': {
      const s = body.replace(/=\r?\n/g, '');
      const bytes: number[] = [];
      for (let i = 0; i < s.length; i++) {
        const hex = s.slice(i + 1, i + 3);
        if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
      }
      return Buffer.from(bytes).toString('utf8');
    }
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

/** Every leaf part of a raw message, depth first. */
export function mimeLeaves(raw: string): MimeLeaf[] {
  const split = /\r?\n\r?\n/.exec(raw);
  const head = split ? raw.slice(0, split.index) : raw;
  const body = split ? raw.slice(split.index + split[0].length) : '';
  const headers = parseHeaders(`${head}\r\n\r\n`);
  const type = (headers['content-type'] ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
    if (!boundary) return [];
    const parts = body.split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?\\n?`));
    return parts.slice(1, -1).filter((p) => p.trim() !== '').flatMap(mimeLeaves);
  }
  return [{ type, body: decode(body, headers['content-transfer-encoding']) }];
}

/** The decoded body of the first part of this type, or null. */
export function partOf(raw: string, type: 'text/html' | 'text/plain'): string | null {
  return mimeLeaves(raw).find((p) => p.type === type)?.body ?? null;
}

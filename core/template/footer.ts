/**
 * The footer every outgoing email carries: the client's postal address and,
 * when the rendered body does not already contain it, the unsubscribe link.
 * Pure and deterministic, so a retried send is byte-for-byte the same.
 */
import { escapeHtml } from './render';

export interface FooterInfo {
  /** The client's postal address (clients.physical_address); lines separated by newlines. Omitted when null or blank. */
  physicalAddress: string | null | undefined;
  unsubscribeUrl: string;
}

export interface EmailBodies {
  text: string;
  html?: string | null;
}

function textFooter(text: string, { physicalAddress, unsubscribeUrl }: FooterInfo): string {
  const lines: string[] = [];
  const address = physicalAddress?.trim();
  if (address) lines.push(address);
  if (!text.includes(unsubscribeUrl)) lines.push(`Unsubscribe: ${unsubscribeUrl}`);
  // trimEnd, not /\s+$/: the regex retries at every position of an inner run of spaces (quadratic in the body).
  return lines.length === 0 ? text : `${text.trimEnd()}\n\n${lines.join('\n')}\n`;
}

function htmlFooter(html: string, { physicalAddress, unsubscribeUrl }: FooterInfo): string {
  const parts: string[] = [];
  const address = physicalAddress?.trim();
  if (address) parts.push(escapeHtml(address).replace(/\r?\n/g, '<br>'));
  const escapedUrl = escapeHtml(unsubscribeUrl);
  if (!html.includes(unsubscribeUrl) && !html.includes(escapedUrl)) parts.push(`<a href="${escapedUrl}">Unsubscribe</a>`);
  if (parts.length === 0) return html;
  const footer = `<div class="email-footer" style="margin-top:24px;font-size:12px;color:#666">${parts.join('<br>')}</div>`;
  const close = html.toLowerCase().lastIndexOf('</body');
  return close < 0 ? `${html}\n${footer}` : `${html.slice(0, close)}${footer}\n${html.slice(close)}`;
}

/** Appends the footer to the text body and, when there is one, the HTML body (inside `<body>` when it has one). */
export function appendFooter(bodies: EmailBodies, info: FooterInfo): { text: string; html: string | undefined } {
  return {
    text: textFooter(bodies.text, info),
    html: bodies.html ? htmlFooter(bodies.html, info) : undefined,
  };
}

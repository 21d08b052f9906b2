/**
 * Renders `{{var}}` and `{{var|default}}` placeholders and `{a|b|c}` spintax.
 * Spintax picks one option per lead deterministically (seeded by the lead id),
 * so a retry renders byte-for-byte the same email.
 */
export type TemplateVars = Record<string, string | number | boolean | null | undefined>;

function hash32(s: string): number {
  // FNV-1a
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function renderTemplate(source: string, vars: TemplateVars, seed: string): string {
  let spinIndex = 0;
  const withVars = source.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}/g, (_m, name: string, def?: string) => {
    const v = vars[name];
    return v === undefined || v === null || v === '' ? (def ?? '').trim() : String(v);
  });
  return withVars.replace(/\{([^{}]*\|[^{}]*)\}/g, (_m, body: string) => {
    const options = body.split('|');
    return options[hash32(`${seed}:${spinIndex++}`) % options.length]!;
  });
}

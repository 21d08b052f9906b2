import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The patch discipline's lint (workflows/patches.json): every id the workflow
 * code passes to patched() or deprecatePatch() is in the append-only ledger,
 * and every ledger id not retired is still asked for by that exact id. An id
 * edited in place fails both ways: the new one is not in the ledger, the
 * recorded one is no longer in the code (runs recorded under it would stop
 * replaying).
 */
const WORKFLOWS = path.join(__dirname, '../../workflows');

interface Ledger {
  patches: { id: string; workflows: string[]; what: string; retired?: string }[];
}

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [{ file: path.relative(WORKFLOWS, p), text: readFileSync(p, 'utf8') }] : [];
  });
}

/** The patch ids used in the code, resolving constants declared anywhere under workflows/. */
export function patchIdsInCode(files: { file: string; text: string }[]): { ids: Map<string, string[]>; unresolved: string[] } {
  const constants = new Map<string, string>();
  for (const { text } of files) {
    for (const m of text.matchAll(/export const ([A-Z0-9_]+)\s*=\s*'([^']+)'/g)) constants.set(m[1]!, m[2]!);
  }
  const ids = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const { file, text } of files) {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const m of code.matchAll(/\b(?:patched|deprecatePatch)\(\s*(?:'([^']+)'|"([^"]+)"|([A-Z0-9_]+))\s*\)/g)) {
      const id = m[1] ?? m[2] ?? constants.get(m[3]!);
      if (!id) {
        unresolved.push(`${file}: ${m[0]}`);
        continue;
      }
      ids.set(id, [...new Set([...(ids.get(id) ?? []), file])]);
    }
    if (/\b(?:patched|deprecatePatch)\(\s*[^'"A-Z\s)]/.test(code)) unresolved.push(`${file}: a patch id that is not a literal or a constant`);
  }
  return { ids, unresolved };
}

describe('the patch ledger (workflows/patches.json)', () => {
  const ledger = JSON.parse(readFileSync(path.join(WORKFLOWS, 'patches.json'), 'utf8')) as Ledger;
  const { ids, unresolved } = patchIdsInCode(sources(WORKFLOWS));

  it('every patch id in the workflow code is a literal or a constant, and is in the ledger, not retired', () => {
    expect(unresolved).toEqual([]);
    const listed = new Map(ledger.patches.map((p) => [p.id, p]));
    const missing = [...ids.keys()].filter((id) => !listed.has(id)).map((id) => `${id} (${ids.get(id)!.join(', ')}): not in workflows/patches.json`);
    const retired = [...ids.keys()].filter((id) => listed.get(id)?.retired).map((id) => `${id}: retired in the ledger but still in the code`);
    expect([...missing, ...retired]).toEqual([]);
  });

  it('every ledger id not retired is still in the code under that exact id (an edited or dropped id breaks recorded runs)', () => {
    const gone = ledger.patches.filter((p) => !p.retired && !ids.has(p.id)).map((p) => `${p.id}: in the ledger, no longer in the code`);
    expect(gone).toEqual([]);
  });

  it('lists each id once', () => {
    const all = ledger.patches.map((p) => p.id);
    expect(all.filter((id, i) => all.indexOf(id) !== i)).toEqual([]);
  });

  it('the lint itself: an id edited in place is caught both ways', () => {
    const edited = [{ file: 'x.ts', text: "export const P = 'mailbox-history-cap-v2';\nconst a = patched(P);\nconst b = patched('campaign-health');" }];
    const found = patchIdsInCode(edited).ids;
    expect([...found.keys()].sort()).toEqual(['campaign-health', 'mailbox-history-cap-v2']);
    expect(ledger.patches.some((p) => p.id === 'mailbox-history-cap-v2')).toBe(false); // the new id: not in the ledger
    expect(found.has('mailbox-history-cap')).toBe(false); // the recorded id: gone from the code
  });
});

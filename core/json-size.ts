/**
 * Whether a parsed JSON value would take more than `max` bytes written back
 * as JSON (approximately: strings count their UTF-16 length plus quotes,
 * numbers their digits, each key its length plus 3, each comma and bracket
 * one). Iterative, so deep nesting cannot overflow the stack, and it stops as
 * soon as the count passes `max`: O(min(size, max)) whatever the value holds.
 */
export function jsonSizeExceeds(value: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number') size += String(v).length;
    else if (typeof v === 'boolean' || v === null || v === undefined) size += 5;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (let i = v.length - 1; i >= 0 && size <= max; i--) stack.push(v[i]);
    } else if (typeof v === 'object') {
      size += 1;
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        size += k.length + 4;
        if (size > max) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
    if (size > max) return true;
  }
  return false;
}

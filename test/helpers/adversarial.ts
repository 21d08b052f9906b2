/** Shared by the adversarial-input tests and npm run bench:input. */

/** Distinct short header names: a, b, …, z, ba, bb, … */
export function columnName(i: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26);
  } while (i > 0);
  return s;
}

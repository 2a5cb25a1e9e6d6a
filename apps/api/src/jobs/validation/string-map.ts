/**
 * The first problem of an object of string → string (env, labels), or undefined when it is
 * fine. Only the first: one message per field keeps a 400 readable.
 */
export interface StringMapRules {
  maxEntries: number;
  /** The problem with this key, if any. */
  keyProblem: (key: string) => string | undefined;
  maxValueBytes: number;
  /** The problem with this key's value beyond its size (a value some names must take), if any. */
  valueProblem?: (key: string, value: string) => string | undefined;
}

export function stringMapProblem(value: unknown, rules: StringMapRules): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined; // IsObject reports
  const entries = Object.entries(value);
  if (entries.length > rules.maxEntries) return `must have at most ${rules.maxEntries} entries`;
  for (const [key, entry] of entries) {
    const keyProblem = rules.keyProblem(key);
    if (keyProblem) return keyProblem;
    if (typeof entry !== 'string') return `value of ${JSON.stringify(key)} must be a string`;
    if (Buffer.byteLength(entry, 'utf8') > rules.maxValueBytes) {
      return `value of ${JSON.stringify(key)} must be at most ${rules.maxValueBytes} bytes of UTF-8`;
    }
    const valueProblem = rules.valueProblem?.(key, entry);
    if (valueProblem) return valueProblem;
  }
  return undefined;
}

/**
 * Limits on a JSON request body, checked before it is parsed: its media type, its size and how deep it nests.
 * ARM accepts only `application/json` bodies (415 UnsupportedMediaType otherwise); a body nested thousands deep
 * must not reach a recursive walk (a stack overflow answered 500 on every operation with a body).
 * Pure: no I/O.
 */

/** Largest request body a JSON route takes (ARM refuses request contents over 4 MB). */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of objects and arrays a JSON route takes (System.Text.Json's default, as ARM's services use). */
export const MAX_JSON_DEPTH = 64;

/** Whether a Content-Type names JSON (`application/json`, or a `+json` type), parameters such as charset aside. */
export function isJsonMediaType(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * How deep the objects and arrays of a JSON text nest, counted without parsing (strings and their escapes
 * skipped), stopping as soon as it passes `limit`: the answer is then `limit + 1`.
 */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return limit + 1;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Limits on JSON request bodies (lib/domain/json-body.ts): media types, and nesting depth counted without parsing. */
import { MAX_JSON_DEPTH, isJsonMediaType, jsonNestingDepth } from '../../lib/domain/json-body';

describe('JSON request bodies', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['application/merge-patch+json', true],
    ['text/plain;charset=UTF-8', false],
    ['application/x-www-form-urlencoded', false],
    ['application/jsonx', false],
    ['text/json', false],
  ])('takes %s as JSON: %s', (type, json) => {
    expect(isJsonMediaType(type)).toBe(json);
  });

  it('counts how deep objects and arrays nest, ignoring brackets inside strings and escaped quotes', () => {
    expect(jsonNestingDepth('42')).toBe(0);
    expect(jsonNestingDepth('{}')).toBe(1);
    expect(jsonNestingDepth('{"a":[1,{"b":[]}],"c":{}}')).toBe(4);
    expect(jsonNestingDepth('{"a":"[[[{{{","b":"\\"[[["}')).toBe(1);
    expect(jsonNestingDepth('[' + '"\\\\"' + ',[]]')).toBe(2);
  });

  it('stops counting past the limit, at once for a body nested thousands deep', () => {
    const deep = '['.repeat(4_000) + ']'.repeat(4_000);
    expect(jsonNestingDepth(deep, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonNestingDepth(deep)).toBe(4_000);
    const atLimit = '{"a":'.repeat(MAX_JSON_DEPTH - 1) + '{}' + '}'.repeat(MAX_JSON_DEPTH - 1);
    expect(jsonNestingDepth(atLimit, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH);
  });
});

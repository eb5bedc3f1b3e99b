/** Azure's GET answers carry `null` for unset optional fields; the domain's schemas read them as absent. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(value)) if (property !== null) result[key] = withoutNulls(property);
  return result;
}

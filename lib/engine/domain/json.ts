/** JSON values: what crosses activity boundaries and what manifests store. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

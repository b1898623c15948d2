/**
 * A model of how Go's encoding/json decodes a response into the atmos CLI's DTOs
 * (cloudposse/atmos pkg/pro/dtos, v1.226.1): unknown fields are ignored, a JSON null leaves a
 * field at its zero value, and a value of the wrong JSON type fails the whole decode, which
 * makes the CLI fail. `time` is a time.Time: an RFC 3339 string (fractional seconds allowed).
 */
export type GoType = 'string' | 'bool' | 'int' | 'time' | 'map' | 'any' | GoStruct;
export interface GoStruct {
  readonly [jsonName: string]: GoType;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The envelope every atmos response DTO embeds (AtmosApiResponse). */
export const ATMOS_API_RESPONSE: GoStruct = {
  request: 'string',
  status: 'int',
  success: 'bool',
  errorTag: 'string',
  errorMessage: 'string',
  error: 'string',
  context: 'map',
  traceId: 'string',
};

export const LOCK_STACK_RESPONSE: GoStruct = {
  ...ATMOS_API_RESPONSE,
  data: {
    id: 'string',
    workspaceId: 'string',
    key: 'string',
    lockMessage: 'string',
    expiresAt: 'time',
    createdAt: 'time',
    updatedAt: 'time',
    deletedAt: 'time',
  },
};

export const UNLOCK_STACK_RESPONSE: GoStruct = { ...ATMOS_API_RESPONSE, data: {} };

export const EXCHANGE_OIDC_RESPONSE: GoStruct = { ...ATMOS_API_RESPONSE, data: { token: 'string' } };

/** Throws what Go's json.Unmarshal would complain about; returns the value otherwise. */
export function goDecode(json: string, type: GoType): unknown {
  const value: unknown = JSON.parse(json);
  check(value, type, '$');
  return value;
}

function check(v: unknown, t: GoType, path: string): void {
  if (v === null) return; // null into a non-pointer is a no-op in Go
  const fail = (want: string) => {
    throw new Error(`json: cannot unmarshal ${JSON.stringify(v)} into ${want} at ${path}`);
  };
  if (t === 'any') return;
  if (t === 'string') return void (typeof v === 'string' || fail('string'));
  if (t === 'bool') return void (typeof v === 'boolean' || fail('bool'));
  if (t === 'int') return void ((typeof v === 'number' && Number.isSafeInteger(v)) || fail('int'));
  if (t === 'time') {
    if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) fail('time.Time (RFC 3339)');
    return;
  }
  if (t === 'map') return void ((typeof v === 'object' && !Array.isArray(v)) || fail('map[string]interface{}'));
  if (typeof v !== 'object' || Array.isArray(v)) return fail('struct');
  for (const [name, fieldType] of Object.entries(t)) {
    const key = Object.keys(v as object).find((k) => k.toLowerCase() === name.toLowerCase()); // Go matches names case-insensitively
    if (key !== undefined) check((v as Record<string, unknown>)[key], fieldType, `${path}.${name}`);
  }
}

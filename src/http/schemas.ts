/** JSON schemas shared by routes; they also feed /openapi.json. */

export const lockViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    workspaceId: { type: 'string' },
    key: { type: 'string' },
    holder: {
      type: 'object',
      properties: {
        principal: { type: 'string' },
        holderId: { type: ['string', 'null'] },
        details: { type: ['object', 'null'], additionalProperties: true },
      },
    },
    message: { type: 'string' },
    lockMessage: { type: 'string' },
    token: { type: 'integer', description: 'fencing token of this grant' },
    acquiredAt: { type: 'string', format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    deletedAt: { type: ['string', 'null'], format: 'date-time' },
    properties: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

export const keyParam = {
  type: 'object',
  properties: { '*': { type: 'string', description: 'the URL-encoded key' } },
} as const;

export const waiterViewSchema = {
  type: 'object',
  properties: {
    position: { type: 'integer', description: '1 = next in line' },
    holder: {
      type: 'object',
      properties: { principal: { type: 'string' }, holderId: { type: ['string', 'null'] } },
    },
    message: { type: 'string' },
    since: { type: 'string', format: 'date-time', description: 'when it joined the line' },
  },
} as const;

/** A lock as GET /locks/{key} and the listing show it: whether it is held or in its lock-delay, and the line. */
export const keyStatusSchema = {
  type: 'object',
  properties: {
    ...lockViewSchema.properties,
    state: { type: 'string', enum: ['held', 'lock_delay'], description: 'lock_delay: expired, but the key stays unavailable until availableAt' },
    availableAt: { type: 'string', format: 'date-time', description: 'when the key becomes available unless renewed or released' },
    queue: { type: 'array', items: waiterViewSchema, description: 'waiters, first in line first' },
  },
} as const;

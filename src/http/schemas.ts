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

import { DISPATCH_STATES } from '../core/dispatch.js';

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

const blockingLockSchema = {
  type: ['object', 'null'],
  description: 'the lock this dispatch was last seen waiting for',
  properties: {
    token: { type: 'integer' },
    holder: { type: 'string' },
    holderId: { type: ['string', 'null'] },
    message: { type: 'string' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** A dispatch (GET /api/v1/dispatches, the CLI, the dashboard's dispatches panel). */
export const dispatchViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    workspaceId: { type: 'string' },
    key: { type: 'string' },
    repository: { type: 'string', description: 'owner/name' },
    workflow: { type: 'string', description: 'workflow file name or id' },
    ref: { type: 'string' },
    inputs: { type: 'object', additionalProperties: true },
    source: {
      type: 'object',
      additionalProperties: true,
      description: "kind 'api' or 'atmos'; the Atmos flow adds stack, component, action, atmosRunId",
      properties: { kind: { type: 'string', enum: ['api', 'atmos'] } },
    },
    pullRequest: { type: ['integer', 'null'] },
    headSha: { type: ['string', 'null'] },
    state: {
      type: 'string',
      enum: [...DISPATCH_STATES],
    },
    reason: { type: ['string', 'null'], description: 'why it failed, was cancelled, superseded or timed out, or why it waits again' },
    blockedBy: blockingLockSchema,
    supersededBy: { type: ['string', 'null'] },
    runId: { type: ['string', 'null'], description: 'the Atmos run (pull_request delivery id) it belongs to' },
    heldFor: {
      type: ['array', 'null'],
      description: 'stacks of its run it waits to see finish before it may go',
      items: { type: 'object', properties: { stack: { type: 'string' }, component: { type: 'string' } } },
    },
    attempts: { type: 'integer', description: 'send attempts started' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    waitDeadline: { type: 'string', format: 'date-time', description: 'still waiting then: timed_out' },
    notBefore: { type: 'string', format: 'date-time', description: 'not sent before (retry backoff)' },
    dispatchedAt: { type: ['string', 'null'], format: 'date-time' },
    links: {
      type: 'object',
      properties: {
        workflowRuns: { type: 'string' },
        pullRequest: { type: ['string', 'null'] },
        commit: { type: ['string', 'null'] },
      },
    },
  },
} as const;

/** `?workspace=` of the admin routes: another workspace than the caller's (the server admin's). */
export const workspaceQuery = {
  type: 'object',
  properties: { workspace: { type: 'string', maxLength: 100, description: "workspace id or name (default: the caller's)" } },
} as const;

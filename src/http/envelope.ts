import { ERRORS, type ErrorTag } from '../core/errors.js';

/** The one JSON envelope every answer uses (SPEC "Interfaces"), errors included. */
export interface Envelope<T = unknown> {
  success: boolean;
  status: number;
  data?: T;
  errorTag?: ErrorTag;
  errorMessage?: string;
  context?: Record<string, unknown>;
  traceId: string;
}

export function okEnvelope<T>(data: T, traceId: string, status = 200): Envelope<T> {
  return { success: true, status, data, traceId };
}

export function errorEnvelope(
  tag: ErrorTag,
  message: string,
  traceId: string,
  context?: Record<string, unknown>,
): Envelope<never> {
  return {
    success: false,
    status: ERRORS[tag].status,
    errorTag: tag,
    errorMessage: message,
    ...(context ? { context } : {}),
    traceId,
  };
}

/** JSON schema of the envelope around `data`, for fastify's serializer and the OpenAPI document. */
export function envelopeSchema(data: object): object {
  return {
    type: 'object',
    required: ['success', 'status', 'traceId'],
    properties: {
      success: { type: 'boolean' },
      status: { type: 'integer' },
      data,
      traceId: { type: 'string' },
    },
  };
}

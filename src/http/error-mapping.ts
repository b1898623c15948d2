import { DomainError, type ErrorTag } from '../core/errors.js';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
  validationContext?: string;
}

/**
 * The one place any thrown thing becomes a tag, a message and a context. Domain errors keep
 * theirs; the framework's own 4xx (validation, bad JSON, body too large, media type) get a
 * tag by status; anything else is Internal, and its details stay in the log.
 */
export function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const e = (error ?? {}) as FastifyLikeError;
  if (e.validation && e.validation.length > 0) {
    return new DomainError('ValidationError', describeValidation(e), {
      part: e.validationContext ?? 'body',
    });
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  const byStatus: Record<number, [ErrorTag, string]> = {
    400: ['ValidationError', cleanMessage(e.message) || 'bad request'],
    401: ['Unauthorized', 'authentication required'],
    403: ['Forbidden', 'not permitted'],
    404: ['NotFound', 'not found'],
    413: ['PayloadTooLarge', 'request body is too large'],
    415: ['UnsupportedMediaType', 'unsupported Content-Type: send a JSON body with "Content-Type: application/json"'],
    429: ['RateLimited', 'too many requests'],
  };
  const known = byStatus[status];
  if (known) {
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (status === 400 && /JSON/i.test(e.message ?? ''))) {
      return new DomainError('ValidationError', `malformed JSON body: ${cleanMessage(e.message)}`);
    }
    if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return new DomainError('ValidationError', 'the body is empty but Content-Type says JSON: send a JSON object, or no Content-Type');
    }
    return new DomainError(known[0], known[1]);
  }
  return new DomainError('Internal', 'internal error: see the server log under this traceId');
}

function describeValidation(e: FastifyLikeError): string {
  const first = e.validation?.[0];
  if (!first) return 'invalid request';
  const part = e.validationContext ?? 'body';
  const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = first.params?.missingProperty;
  if (missing) return `${part}: ${path ? path + '.' : ''}${String(missing)} is required`;
  return `${part}${path ? '.' + path : ''} ${first.message ?? 'is invalid'}`;
}

function cleanMessage(m: string | undefined): string {
  return (m ?? '').replace(/^FST_\w+:\s*/, '').trim();
}

import type { FastifyInstance } from 'fastify';
import { DomainError } from '../core/errors.js';

/** Deeper than any request stacklock or atmos sends; deeper input would only exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/** Nesting depth of a parsed JSON value, measured without recursion. */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Fastify's own JSON parser (which refuses `__proto__` and `constructor` poisoning), plus a
 * limit on nesting: every later step (schemas, checks, storage) may then walk a body freely.
 */
export function useJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (error, value) => {
      if (!error && jsonDepthExceeds(value, MAX_JSON_DEPTH)) {
        done(new DomainError('ValidationError', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`), undefined);
        return;
      }
      done(error, value);
    });
  });
}

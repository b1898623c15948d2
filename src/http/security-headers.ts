import helmet, { type HelmetOptions } from 'helmet';

/**
 * Headers on every answer (helmet). The Content-Security-Policy allows no inline script and no
 * inline style, and nothing from another origin: the dashboard's files all come from this server.
 * No upgrade-insecure-requests and no HSTS: whether TLS is in front is the operator's choice,
 * and a plain-http loopback dashboard must keep working.
 */
export const securityHeaders: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  strictTransportSecurity: false,
};

/**
 * Sets them: helmet's middleware, built once. (@fastify/helmet builds it again for every request,
 * CSP directives parsed anew each time: about a tenth of the server's CPU per lock operation.)
 */
export const setSecurityHeaders = helmet(securityHeaders);

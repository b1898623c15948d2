import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { OidcConfig } from '../config.js';
import type { Clock } from '../core/clock.js';
import { DomainError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import { REPOSITORY_NAME } from './workspace-admin.js';

/** What a verified GitHub Actions OIDC token tells about the run that asked for it. */
export interface ActionsIdentity {
  /** `owner/repo` as GitHub spells it. */
  readonly repository: string;
  /** Run facts kept with the session and shown with the locks it takes. */
  readonly details: JsonObject;
}

/** Claims copied into the session's details when present (never the token itself). */
const DETAIL_CLAIMS = [
  'repository', 'repository_id', 'run_id', 'run_attempt', 'run_number', 'workflow', 'workflow_ref',
  'job_workflow_ref', 'job', 'actor', 'ref', 'sha', 'event_name', 'environment',
] as const;

export type VerifyActionsToken = (jwt: string) => Promise<ActionsIdentity>;

/**
 * Verifies a GitHub Actions OIDC token with jose against the issuer's published keys:
 * signature (RS256 only: `none`, HMAC and every other algorithm are refused before any key is
 * used), issuer, audience, `exp` and `nbf` on the given clock. The key set is fetched on first
 * use and cached; an unknown `kid` refetches it (at most every 30 s).
 */
export function githubActionsVerifier(config: OidcConfig, clock: Clock): VerifyActionsToken {
  const keys = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  return async (jwt) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, keys, {
        algorithms: ['RS256'],
        issuer: config.issuer,
        audience: config.audience,
        currentDate: clock.now(),
        requiredClaims: ['exp', 'repository'],
      }));
    } catch (error) {
      throw rejection(error, config);
    }
    const repository = payload.repository;
    if (typeof repository !== 'string' || !REPOSITORY_NAME.test(repository)) {
      throw new DomainError('Unauthorized', 'OIDC token rejected: its "repository" claim is not owner/repo');
    }
    const details: JsonObject = {};
    for (const claim of DETAIL_CLAIMS) {
      const v = payload[claim];
      if (typeof v === 'string' || typeof v === 'number') details[claim] = v;
    }
    return { repository, details };
  };
}

/** A token problem is the caller's (401); not reaching the key set is ours (503). */
function rejection(error: unknown, config: OidcConfig): DomainError {
  const e = error as { code?: string; claim?: string; reason?: string; message?: string };
  switch (e.code) {
    case joseErrors.JWTExpired.code:
      return new DomainError('Unauthorized', 'OIDC token rejected: it has expired');
    case joseErrors.JWTClaimValidationFailed.code:
      return new DomainError('Unauthorized', `OIDC token rejected: ${claimProblem(e.claim, e.reason, config)}`);
    case joseErrors.JOSEAlgNotAllowed.code:
      return new DomainError('Unauthorized', 'OIDC token rejected: only RS256-signed tokens are accepted');
    case joseErrors.JWSSignatureVerificationFailed.code:
      return new DomainError('Unauthorized', 'OIDC token rejected: its signature does not verify');
    case joseErrors.JWKSNoMatchingKey.code:
    case joseErrors.JWKSMultipleMatchingKeys.code:
      return new DomainError('Unauthorized', "OIDC token rejected: no key of the issuer's key set matches its key id");
    case joseErrors.JWSInvalid.code:
    case joseErrors.JWTInvalid.code:
    case joseErrors.JOSENotSupported.code:
      return new DomainError('Unauthorized', 'OIDC token rejected: not a well-formed signed JWT');
    default:
      return new DomainError('Unavailable', `cannot verify OIDC tokens now: fetching the issuer's keys from ${config.jwksUrl} failed`);
  }
}

function claimProblem(claim: string | undefined, reason: string | undefined, config: OidcConfig): string {
  if (claim === 'aud') return `its audience is not '${config.audience}'`;
  if (claim === 'iss') return `its issuer is not '${config.issuer}'`;
  if (claim === 'nbf') return 'it is not valid yet (nbf)';
  if (reason === 'missing') return `it has no "${claim}" claim`;
  return `its "${claim}" claim is invalid`;
}

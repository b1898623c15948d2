import { createHash } from 'node:crypto';
import { DomainError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import type { AffectedStacksBatch } from '../core/ports/atmos-uploads.js';

/** The rules every backend applies to a batch, so they answer alike (test/conformance). */
export function stacksDigest(stacks: readonly JsonObject[]): string {
  return createHash('sha256').update(JSON.stringify(stacks)).digest('hex');
}

/** A batch must name the same commit, repository and batch total as its upload's first batch. */
export function checkBatchFits(upload: { headSha: string; repositoryKey: string; batchTotal: number }, b: AffectedStacksBatch): void {
  if (upload.headSha !== b.headSha || upload.repositoryKey !== b.repository.toLowerCase() || upload.batchTotal !== b.batchTotal) {
    throw new DomainError(
      'Conflict',
      `batch ${b.batchIndex} of upload '${b.uploadId}' names another commit, repository or batch_total than its first batch`,
      { uploadId: b.uploadId },
    );
  }
}

/** A batch sent again must carry the same stacks (a retry); anything else is a client error. */
export function checkSameBatch(storedDigest: string | undefined, b: AffectedStacksBatch): void {
  if (storedDigest !== stacksDigest(b.stacks)) {
    throw new DomainError('Conflict', `batch ${b.batchIndex} of upload '${b.uploadId}' was already received with other stacks`, {
      uploadId: b.uploadId,
    });
  }
}

/** The copier's fixed limits, one home each (usage prints them). */
export const LIMITS = {
  /** A tag's lock is waited for this long, then the image fails with exit 1 (as the bash copier had it). */
  lockTimeoutSeconds: 900,
  /** No copy, and no tag of a reconcile, starts with credentials closer to their end than this. */
  credentialMarginSeconds: 600,
  /**
   * The source password is made with the instance profile's credentials, which EC2 rotates about
   * hourly: it is kept at most this long.
   */
  sourcePasswordMaxSeconds: 3600,
  /** ECR's documented token lifetime (12 hours), the upper bound of any password's. */
  ecrTokenSeconds: 43200,
  /** The target role's session: asked for this long, trusted at most this long. */
  roleSessionSeconds: 3600,
  reconcileDefaultParallelism: 4,
  reconcileMaxParallelism: 16,
  /** Registry reads in flight at once (a reconcile reads every tag of a repository). */
  registryParallelism: 8,
  /** Every registry request: connect within this, answer whole within the total. */
  connectTimeoutSeconds: 10,
  requestTimeoutSeconds: 60,
  /** Retries of a timeout, 408, 429 or 5xx, 1, 2, 4 s apart (or after Retry-After), as curl --retry 3. */
  requestRetries: 3,
  /** Tags asked for per page of a tag list (ECR's largest page is 1000). */
  tagPageSize: 1000,
  /** skopeo's own retries of a failed copy (a dropped connection, a 429), 1, 2, 4 s apart. */
  skopeoRetryTimes: 3,
  /**
   * One skopeo copy (its --command-timeout), then it is killed (SIGTERM, then SIGKILL after
   * skopeoKillGraceSeconds): a stalled registry ends the copy with exit 7 within this bound.
   */
  copyTimeoutSeconds: 1800,
  copyTimeoutMaxSeconds: 86400,
  skopeoKillGraceSeconds: 5,
  /** Copies tried when the registries look healthy after a failure (a blob cut short once). */
  copyAttempts: 2,
  /** The AWS SDK's attempts per call unless AWS_MAX_ATTEMPTS says otherwise. */
  awsDefaultAttempts: 5,
  /** An image's referrers (nested ones included) copied at most; an index's manifests read at most. */
  maxReferrers: 256,
  /** Longer REPOSITORY:TAG lock names are hashed (a file name has 255 bytes at most). */
  lockNameMax: 200,
} as const;

/**
 * Where the worker gets the copier: a private bucket in the css account, and the bundle
 * (ec2-scripts/bundle.ts) uploaded into it at deploy, keyed by the sha256 of its bytes. The bundle
 * with the AWS SDK clients is several hundred KB (about 460 KB in December 2026), and an SSM
 * document may hold at most 64 KB
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html, Content:
 * "Maximum size of 64 KB"), so the documents carry the bundle's key and sha256 instead, fetch it,
 * and run it only when its bytes have that hash (components/document-content.ts).
 *
 * What it costs: the bucket holds one object of under 1 MB per copier version ever deployed (a
 * thousand deploys are under 1 GB, about $0.02 a month in S3 Standard); a deploy that changes the
 * copier is one PUT, and the worker makes one HEAD and one GET per version, on the first command
 * after the deploy (later commands use its local copy). No KMS key, so no KMS requests.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { copierObjectKey } from "./arns";
import { copierBucketPolicy } from "./policies";

/**
 * How long S3 keeps an object version after something replaced or deleted it (a noncurrent
 * version). The stack itself never deletes a deployed bundle (below); this only bounds what a
 * person's overwrite or delete leaves behind, long enough to undo it.
 */
export const NONCURRENT_VERSION_DAYS = 30;

/** The bundle to deploy: its text and the sha256 (hex) of its UTF-8 bytes. */
export interface CopierBundleInput {
  readonly code: string;
  readonly sha256: string;
}

export interface CopierBucket {
  readonly bucket: aws.s3.Bucket;
  /**
   * The bucket's name, once its policy, public access block and encryption are in place: what the
   * upload and the worker's grant use, so nothing is put into the bucket before it is locked down.
   */
  readonly bucketName: pulumi.Output<string>;
}

/**
 * The private bucket: versioned, encrypted with S3-managed keys, every public grant blocked, ACLs
 * off (the bucket owner owns every object), plain HTTP refused by its policy.
 *
 * SSE-S3 rather than KMS: the bundle is this repository's own code, not a secret; what protects the
 * worker is the sha256 the document checks, not the encryption. A KMS key would add a key policy and
 * a kms:Decrypt grant for the worker, and a KMS request per fetch, and hide nothing from anyone who
 * can read the repository.
 *
 * The name is left to Pulumi (`<name>-copier-` and a random suffix): bucket names are global, so a
 * fixed one could be taken first by anyone, in any account.
 */
export function createCopierBucket(name: string, parent: pulumi.Resource): CopierBucket {
  const bucket = new aws.s3.Bucket(
    `${name}-copier`,
    {
      // The bucket holds only what a deploy uploads again from the repository: `pulumi destroy` may
      // empty it, old versions included, instead of failing on a non-empty bucket.
      forceDestroy: true,
    },
    { parent },
  );
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-copier-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    { parent },
  );
  const ownership = new aws.s3.BucketOwnershipControls(
    `${name}-copier-ownership`,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    { parent },
  );
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-copier-encryption`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    },
    { parent },
  );
  const versioning = new aws.s3.BucketVersioning(
    `${name}-copier-versioning`,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    { parent },
  );
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-copier-lifecycle`,
    {
      bucket: bucket.id,
      rules: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
      ],
    },
    { parent, dependsOn: [versioning] },
  );
  const policy = new aws.s3.BucketPolicy(
    `${name}-copier-policy`,
    {
      bucket: bucket.id,
      policy: bucket.bucket.apply((bucketName) => JSON.stringify(copierBucketPolicy({ bucketName }))),
    },
    // S3 refuses a bucket policy while the public access block is being put (409 conflict).
    { parent, dependsOn: [publicAccess] },
  );
  const bucketName = pulumi
    .all([bucket.bucket, policy.id, publicAccess.id, ownership.id, encryption.id, versioning.id])
    .apply(([bucketName]) => bucketName);
  return { bucket, bucketName };
}

export interface CopierUpload {
  /** `copier/<sha256>.cjs`: what the documents fetch, known once the object is uploaded. */
  readonly key: pulumi.Output<string>;
  /** The sha256 the documents check the fetched bytes against, known once the object is uploaded. */
  readonly sha256: pulumi.Output<string>;
}

/**
 * The bundle as one object under `copier/`, named by its sha256, so a new copier is a new key: the
 * preview shows the key (and the stack's copierSha256 output) change, and a document names exactly
 * the bytes it was built with. The object is kept when the key changes (retainOnDelete): a command
 * sent before a deploy runs the document version it was sent with, which may name the previous key
 * on a worker that has no copy of it yet. S3 computes and checks its own SHA-256 of the upload.
 */
export function uploadCopier(
  name: string,
  args: { bucketName: pulumi.Input<string>; bundle: pulumi.Input<CopierBundleInput> },
  parent: pulumi.Resource,
): CopierUpload {
  const bundle = pulumi.output(args.bundle).apply((b) => {
    const actual = createHash("sha256").update(b.code, "utf8").digest("hex");
    if (actual !== b.sha256)
      throw new Error(
        `the copier bundle's sha256 is ${actual}, not the ${JSON.stringify(b.sha256)} it came with: build it with bundleCopierSync() (ec2-scripts/bundle.ts)`,
      );
    return b;
  });
  const sha256 = bundle.apply((b) => b.sha256);
  const key = sha256.apply(copierObjectKey);
  const object = new aws.s3.BucketObjectv2(
    `${name}-copier-bundle`,
    {
      bucket: args.bucketName,
      key,
      // An asset, not `content`: the rendering and the preview show its hash and size, not hundreds of KB of code.
      source: bundle.apply((b) => new pulumi.asset.StringAsset(b.code)),
      contentType: "application/javascript",
      checksumAlgorithm: "SHA256",
    },
    { parent, retainOnDelete: true },
  );
  // Both from the object's outputs: a document that names the bundle is written only after it is in S3.
  return { key: object.key, sha256: pulumi.all([object.key, sha256]).apply(([, hash]) => hash) };
}

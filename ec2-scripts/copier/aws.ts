import { DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { EXIT, ExitCode } from "../../common/result-lines";
import { Clock } from "./clock";
import { Config } from "./config";
import { Failure } from "./failure";
import { LIMITS } from "./limits";
import { TagPolicy } from "./mutability";
import { RegistryCredentials, Side } from "./registry";
import { traced } from "./trace";

/**
 * AWS through the SDK for JavaScript v3. The source side uses the default credential chain (the
 * instance profile); the target side the target role, assumed with those credentials and renewed
 * before it expires (RoleCredentials). Every client retries in the SDK's standard mode
 * (throttling, 5xx, connection errors; exponential backoff with jitter), AWS_MAX_ATTEMPTS tries.
 * Errors are classified by the SDK error's name and HTTP status, never by its message.
 */

/** Error names that mean the credentials are refused, missing or not allowed. */
const AUTH_ERRORS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredToken",
  "ExpiredTokenException",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "AuthFailure",
  "MissingAuthenticationToken",
  "CredentialsProviderError",
]);

/** Error names that mean the service did not answer usefully: throttled (after the retries), failing or timing out. */
const UNAVAILABLE_ERRORS = new Set([
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "InternalError",
  "InternalServerError",
  "InternalServerException",
  "ServerException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** The exit code of a failed AWS call, from the error's name and HTTP status. */
export function awsErrorClass(error: unknown): ExitCode {
  const { name = "", code, $fault, $metadata } = (error ?? {}) as SdkError;
  const status = $metadata?.httpStatusCode;
  if (AUTH_ERRORS.has(name) || status === 401 || status === 403) return EXIT.auth;
  if (UNAVAILABLE_ERRORS.has(name) || status === 429 || (status !== undefined && status >= 500))
    return EXIT.unavailable;
  // No HTTP answer at all (refused, reset, timed out, no such host): the SDK passes Node's error on,
  // with neither a fault nor a status, and with the system error's code. Anything else without an
  // answer (a bug, a configuration the SDK refuses) is no outage: "run again" would not help.
  if ($fault === undefined && status === undefined && NETWORK_ERROR_CODES.has(code)) return EXIT.unavailable;
  return EXIT.failed;
}

/** Node's system error codes for a connection that failed or hung (errno(3), getaddrinfo(3)). */
const NETWORK_ERROR_CODES: ReadonlySet<string | undefined> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/** What an SDK error is called in a message: its name, and its code or status when it has them. */
function errorName(error: unknown): string {
  const { name, code, $metadata } = (error ?? {}) as SdkError;
  const status = $metadata?.httpStatusCode;
  return [name, code && code !== name ? code : undefined, status ? `HTTP ${status}` : undefined]
    .filter(Boolean)
    .join(", ");
}

/**
 * One sentence for a failed AWS call: the side, the API and what was asked (`call`, never a
 * secret), and `hint` after an authentication failure.
 */
export function awsFailure(error: unknown, side: Side, api: string, call: string, hint: string): Failure {
  if (error instanceof Failure) return error;
  const code = awsErrorClass(error);
  const detail = errorName(error);
  switch (code) {
    case EXIT.auth:
      return new Failure(code, `${side} side: ${api} refused ${call}: ${detail}; ${hint}`);
    case EXIT.unavailable:
      return new Failure(
        code,
        `${side} side: ${api} is unavailable (${call}: ${detail}); not a credentials problem: run again once it answers`,
      );
    default:
      return new Failure(
        code,
        `${side} side: ${call} failed: ${detail}: ${(error as Error)?.message ?? String(error)}`,
      );
  }
}

/** A lifetime AWS states as an end time, as monotonic milliseconds from now, bounded above and below. */
export function boundedLifetime(
  expiresAtWall: number | undefined,
  nowWall: number,
  maxSeconds: number,
  fallbackSeconds: number,
): number {
  const stated = expiresAtWall === undefined ? NaN : expiresAtWall - nowWall;
  // Already past on arrival (clocks that disagree, or moto, which answers 2015-01-01): the fallback.
  const lifetime = stated > 0 ? stated : fallbackSeconds * 1000;
  return Math.min(lifetime, maxSeconds * 1000);
}

/**
 * The target role's credentials: assumed with the worker's own, kept in memory by the monotonic
 * clock, and assumed anew LIMITS.credentialMarginSeconds before their end. The provider is marked
 * `memoized`, so the SDK uses it as it is instead of wrapping it in its own cache (which compares
 * expiry with the wall clock: a clock set back would stretch it).
 */
export class RoleCredentials {
  private current?: { identity: AwsCredentialIdentity; fetchedAt: number; lifetime: number };
  private pending?: Promise<AwsCredentialIdentity>;
  readonly provider: AwsCredentialIdentityProvider;

  constructor(
    private readonly sts: STSClient,
    private readonly roleArn: string,
    private readonly clock: Clock,
  ) {
    const provider = () => this.get();
    Object.assign(provider, { memoized: true });
    this.provider = provider;
  }

  /** Monotonic milliseconds these credentials have left (0 when none are held). */
  remaining(): number {
    return this.current
      ? Math.max(0, this.current.fetchedAt + this.current.lifetime - this.clock.monotonic())
      : 0;
  }

  async get(): Promise<AwsCredentialIdentity> {
    if (this.current && this.remaining() > LIMITS.credentialMarginSeconds * 1000)
      return this.current.identity;
    this.pending ??= this.assume().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async assume(): Promise<AwsCredentialIdentity> {
    const call = `sts:AssumeRole --role-arn ${this.roleArn} with the worker's credentials`;
    let response;
    try {
      response = await traced("sts AssumeRole", () =>
        this.sts.send(
          new AssumeRoleCommand({
            RoleArn: this.roleArn,
            RoleSessionName: `ecr-sync-${process.pid}`,
            DurationSeconds: LIMITS.roleSessionSeconds,
          }),
        ),
      );
    } catch (error) {
      throw awsFailure(error, "target", "STS", call, "check that the role exists and trusts the worker role");
    }
    const credentials = response.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
      throw new Failure(
        EXIT.failed,
        "target side: sts:AssumeRole returned no credentials in the form STS gives",
      );
    }
    const fetchedAt = this.clock.monotonic();
    const lifetime = boundedLifetime(
      credentials.Expiration?.getTime(),
      this.clock.wall(),
      LIMITS.roleSessionSeconds,
      LIMITS.roleSessionSeconds,
    );
    const identity: AwsCredentialIdentity = {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
    };
    this.current = { identity, fetchedAt, lifetime };
    return identity;
  }
}

/**
 * One side's ECR password (GetAuthorizationToken), kept in memory by the monotonic clock: until
 * LIMITS.credentialMarginSeconds before the end of its lifetime, which is ECR's expiresAt bounded
 * by ECR's 12 hours and by the credentials it was made with (the source's instance profile
 * credentials rotate hourly; the target's are the role's).
 */
export class EcrPassword implements RegistryCredentials {
  private current?: { token: string; fetchedAt: number; lifetime: number };
  private pending?: Promise<string>;

  constructor(
    private readonly ecr: ECRClient,
    readonly side: Side,
    private readonly region: string,
    private readonly who: string,
    private readonly hint: string,
    /** The longest this side's password may be kept, in milliseconds from now. */
    private readonly cap: () => number,
    private readonly clock: Clock,
  ) {}

  private remaining(): number {
    return this.current ? this.current.fetchedAt + this.current.lifetime - this.clock.monotonic() : 0;
  }

  async token(): Promise<string> {
    if (this.current && this.remaining() > LIMITS.credentialMarginSeconds * 1000) return this.current.token;
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * A registry refused `rejected`: one more try is worth it when another request has renewed it
   * meanwhile, or when it has been in use for more than a minute (fetched, then revoked or expired
   * by a clock this side cannot see). A password refused right after it was fetched stays refused.
   */
  async renew(rejected: string): Promise<boolean> {
    if (this.pending) await this.pending.catch(() => undefined);
    if (this.current?.token !== rejected) return this.current !== undefined;
    if (this.clock.monotonic() - this.current.fetchedAt < 60_000) return false;
    this.current = undefined;
    await this.token();
    return true;
  }

  private async fetch(): Promise<string> {
    let response;
    try {
      response = await traced(`${this.side} ecr GetAuthorizationToken`, () =>
        this.ecr.send(new GetAuthorizationTokenCommand({})),
      );
    } catch (error) {
      throw awsFailure(
        error,
        this.side,
        `ECR (${this.region})`,
        `ecr:GetAuthorizationToken ${this.who}`,
        this.hint,
      );
    }
    const data = response.authorizationData?.[0];
    const token = data?.authorizationToken;
    if (!token || !/^[A-Za-z0-9+/]+=*$/.test(token)) {
      throw new Failure(
        EXIT.failed,
        `${this.side} side: ecr:GetAuthorizationToken returned no token in the form ECR gives (base64)`,
      );
    }
    const fetchedAt = this.clock.monotonic();
    const lifetime = Math.min(
      boundedLifetime(
        data?.expiresAt?.getTime(),
        this.clock.wall(),
        LIMITS.ecrTokenSeconds,
        LIMITS.ecrTokenSeconds,
      ),
      this.cap(),
    );
    this.current = { token, fetchedAt, lifetime };
    return token;
  }
}

/** The AWS side of a run: the clients, both passwords, and the target repositories' descriptions. */
export class Aws {
  readonly sourcePassword: EcrPassword;
  readonly targetPassword: EcrPassword;
  private readonly targetEcr: ECRClient;
  readonly role: RoleCredentials;

  constructor(
    private readonly config: Config,
    clock: Clock,
  ) {
    const common = { region: config.region, maxAttempts: config.awsMaxAttempts, retryMode: "standard" };
    const sts = new STSClient(common);
    this.role = new RoleCredentials(sts, config.targetRoleArn, clock);
    const sourceEcr = new ECRClient(common);
    this.targetEcr = new ECRClient({ ...common, credentials: this.role.provider });
    this.sourcePassword = new EcrPassword(
      sourceEcr,
      "source",
      config.region,
      "with the worker's own credentials",
      "check the worker role's ecr:GetAuthorizationToken",
      () => LIMITS.sourcePasswordMaxSeconds * 1000,
      clock,
    );
    this.targetPassword = new EcrPassword(
      this.targetEcr,
      "target",
      config.region,
      `as ${config.targetRoleArn}`,
      "check the target role's ecr:GetAuthorizationToken",
      () => this.role.remaining(),
      clock,
    );
  }

  /**
   * The target repository's tag policy (DescribeRepositories as the target role). A repository
   * that does not exist is exit 5: ecr-sync never creates one, and a plain push would.
   */
  async describeTargetRepository(repository: string): Promise<TagPolicy> {
    const { targetRoleArn, region } = this.config;
    try {
      const response = await traced(`target ecr DescribeRepositories ${repository}`, () =>
        this.targetEcr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] })),
      );
      const found = response.repositories?.[0];
      return {
        mutability: found?.imageTagMutability ?? "MUTABLE",
        exclusionFilters: (found?.imageTagMutabilityExclusionFilters ?? []).flatMap((filter) =>
          filter.filter !== undefined ? [filter.filter] : [],
        ),
      };
    } catch (error) {
      if ((error as SdkError)?.name === "RepositoryNotFoundException") {
        throw new Failure(
          EXIT.notFound,
          `target repository '${repository}' does not exist in the target account's ECR (role ${targetRoleArn}): create it there; ecr-sync never creates repositories`,
        );
      }
      throw awsFailure(
        error,
        "target",
        `ECR (${region})`,
        `ecr:DescribeRepositories --repository-names ${repository} as ${targetRoleArn}`,
        "check the target role's ecr:DescribeRepositories",
      );
    }
  }
}

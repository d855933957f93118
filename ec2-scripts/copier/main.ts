import { isReferrersTag } from "../../common/naming";
import { EXIT, ExitCode } from "../../common/result-lines";
import { Aws } from "./aws";
import { Clock, systemClock } from "./clock";
import { checkMappedPair, Command, Config, parseCommand, readConfig, UsageError } from "./config";
import { Copier } from "./copy";
import { exitAfterOutput } from "./exit";
import { asFailure, Failure } from "./failure";
import { log } from "./log";
import { TagPolicy } from "./mutability";
import { reconcile } from "./reconcile";
import { RegistryClient } from "./registry";
import { Results } from "./results";
import { stopAllCopyTools } from "./skopeo";
import { prepareStateDir, RunDir } from "./state";
import { telemetrySink } from "./telemetry";
import { trace } from "./trace";
import { shortUsage, usage } from "./usage";

/**
 * ecr-sync: copies images from the source account's ECR repositories into the target account's
 * (differently named) repositories, same digest, every platform. `ecr-sync --help` (usage.ts) is
 * the one description of its flags, environment, result lines and exit codes; docs/copier.md says
 * how it works and why.
 */

type CopyCommand = Extract<Command, { kind: "copy" }>;
type ReconcileCommand = Extract<Command, { kind: "reconcile" }>;

const LOGIN_HINTS = {
  source: "check ECR_SYNC_SOURCE_REGISTRY and the worker role's ecr:GetAuthorizationToken",
  target: "check that ECR_SYNC_TARGET_ROLE_ARN is a role in the account of ECR_SYNC_TARGET_REGISTRY",
};

/** A run of the copier: its AWS side, both registries, its private directory and its result lines. */
interface Run {
  readonly clock: Clock;
  readonly aws: Aws;
  readonly copier: Copier;
  readonly results: Results;
}

function startRun(
  config: Config,
  runDir: RunDir,
  results: Results,
  clock: Clock,
  state: ReturnType<typeof prepareStateDir>,
): Run {
  const aws = new Aws(config, clock);
  const source = new RegistryClient("source", config.sourceRegistry, config.tlsVerify, aws.sourcePassword);
  const target = new RegistryClient("target", config.targetRegistry, config.tlsVerify, aws.targetPassword);
  return {
    clock,
    aws,
    copier: new Copier(config, aws, source, target, state, runDir, results, clock),
    results,
  };
}

/**
 * Both passwords and the registries' acceptance of them (GET /v2/), side by side with the target
 * repositories' descriptions. The first failure in the order an operator should fix them is
 * thrown: the worker's own password, the role and its password, the logins; the descriptions are
 * returned (a failed one as its Failure) for the caller to report per repository.
 */
async function login(run: Run, repositories: readonly string[]): Promise<Map<string, TagPolicy | Failure>> {
  const { aws, copier } = run;
  const sourceLogin = aws.sourcePassword.token().then(() => copier.source.checkLogin(LOGIN_HINTS.source));
  const targetLogin = aws.targetPassword.token().then(() => copier.target.checkLogin(LOGIN_HINTS.target));
  const described = repositories.map((repository) =>
    aws.describeTargetRepository(repository).catch((error: unknown) => asFailure(error)),
  );
  const [source, target] = await Promise.allSettled([sourceLogin, targetLogin]);
  const policies = new Map<string, TagPolicy | Failure>();
  const answers = await Promise.all(described);
  repositories.forEach((repository, i) => policies.set(repository, answers[i]));
  for (const settled of [source, target]) if (settled.status === "rejected") throw settled.reason;
  return policies;
}

async function copyCommand(config: Config, run: Run, command: CopyCommand): Promise<ExitCode> {
  const { copier, results } = run;
  const images = copier.images(command.sourceRepository, command.targetRepository, command.tag);
  // The tag's lock is asked for while the AWS calls and the login checks run: flock(1) is a process
  // start (30 to 150 ms on a busy 2-core machine) that need not wait for them. Nothing is read
  // under it before both are done, so the invariant is unchanged; a failed login lets it go.
  // A referrers tag is not copied as an image: its image's referrers are, under a lock taken only
  // when one is missing (copyReferrersTag), so none is asked for here.
  const referrersOnly = config.copyReferrers && isReferrersTag(command.tag);
  const abandon = new AbortController();
  const locking = referrersOnly
    ? undefined
    : {
        lock: copier.lockTag(command.targetRepository, command.tag, abandon.signal),
        since: run.clock.monotonic(),
      };
  // Its failure (a symlinked lock file: exit 3) is reported by copyImage once the login is done;
  // until then it must not count as an unhandled rejection, which would end the process.
  locking?.lock.catch(() => undefined);
  const letGo = () => {
    abandon.abort();
    locking?.lock.then(
      (held) => held.release(),
      () => undefined,
    );
  };
  let policy: TagPolicy | Failure | undefined;
  try {
    policy = (await login(run, [command.targetRepository])).get(command.targetRepository);
  } catch (error) {
    letGo();
    const failure = asFailure(error);
    results.image("failed", images, { digest: command.digest, error: failure.message });
    return failure.code;
  }
  if (policy instanceof Failure || policy === undefined) {
    letGo();
    const failure = policy ?? new Failure(EXIT.failed, "no description of the target repository");
    // Read for the failed line only (which image it was about); nothing is decided on it.
    let digest = command.digest;
    if (digest === undefined) {
      const read = await copier.source.manifestDigest(
        command.sourceRepository,
        command.tag,
        `reading ${images.source}`,
      );
      if (read.kind === "found") digest = read.digest;
    }
    results.image("failed", images, { digest, error: failure.message });
    return failure.code;
  }
  if (referrersOnly)
    return copier.copyReferrersTag(command.sourceRepository, command.targetRepository, command.tag);
  return copier.copyImage(
    command.sourceRepository,
    command.targetRepository,
    command.tag,
    policy,
    command.digest === undefined ? "tag" : "event",
    command.digest,
    locking,
  );
}

async function reconcileCommand(
  config: Config,
  run: Run,
  command: ReconcileCommand,
  startedAt: number,
): Promise<ExitCode> {
  let policies;
  try {
    policies = await login(
      run,
      config.mappings.map(([, target]) => target),
    );
  } catch (error) {
    const failure = asFailure(error);
    log(`error: ${failure.message}`);
    return failure.code;
  }
  return reconcile(
    config,
    run.copier,
    run.results,
    policies,
    command.dryRun,
    config.reconcileParallelism,
    startedAt,
  );
}

/** Failed lines for a run that stops before it reads anything (the state directory refused). */
function refuseAll(config: Config, command: Command, results: Results, failure: Failure): ExitCode {
  if (command.kind === "copy") {
    const images = {
      source: `${config.sourceRegistry}/${command.sourceRepository}:${command.tag}`,
      target: `${config.targetRegistry}/${command.targetRepository}:${command.tag}`,
    };
    results.image("failed", images, { digest: command.digest, error: failure.message });
  } else {
    for (const [source, target] of config.mappings) {
      results.image(
        "failed",
        { source: `${config.sourceRegistry}/${source}`, target: `${config.targetRegistry}/${target}` },
        { error: failure.message },
      );
    }
  }
  return failure.code;
}

/** Whether this process's run got past its command line, configuration and state directory. */
let commandRan = false;

export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  clock: Clock = systemClock,
): Promise<ExitCode> {
  trace("main");
  const startedAt = clock.monotonic();
  let command: Command;
  let config: Config;
  try {
    command = parseCommand(argv, env);
    if (command.kind === "help") {
      process.stdout.write(usage());
      return EXIT.ok;
    }
    config = readConfig(env);
    if (command.kind === "copy") checkMappedPair(config, command.sourceRepository, command.targetRepository);
  } catch (error) {
    if (error instanceof UsageError) {
      for (const problem of error.problems) log(`error: ${problem}`);
      process.stderr.write(shortUsage());
      return EXIT.usage;
    }
    // A configuration error names every variable at fault, one line each.
    const failure = asFailure(error);
    for (const line of failure.message.split("\n")) log(`error: ${line}`);
    return failure.code;
  }
  process.umask(0o077);
  // The worker runs Debian 13's Node 20 by design, with the SDK version package-lock.json pins;
  // the SDK's warning about the Node its later versions will need is for whoever updates that.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Every result line also goes to CloudWatch (telemetry.ts): the SSM agent uploads stdout in
  // batches, so figures read from the command output would miss most lines. close() below ships
  // them after every lock is released.
  const telemetry = telemetrySink(env);
  const results = new Results(
    clock,
    telemetry === undefined ? [] : [telemetry],
    command.kind === "copy" ? command.pushedAt : undefined,
  );
  let runDir: RunDir | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stopAllCopyTools();
    runDir?.remove();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    let state;
    try {
      state = prepareStateDir(config.stateDir);
      runDir = RunDir.create(state);
    } catch (error) {
      return refuseAll(config, command, results, asFailure(error));
    }
    trace("state dir ready");
    commandRan = true;
    const run = startRun(config, runDir, results, clock, state);
    trace("clients made");
    return command.kind === "copy"
      ? await copyCommand(config, run, command)
      : await reconcileCommand(config, run, command, startedAt);
  } catch (error) {
    const failure = asFailure(error);
    log(`error: ${failure.message}`);
    return failure.code;
  } finally {
    runDir?.remove();
    trace("results close start");
    await results.close();
    trace("results close end");
  }
}

/**
 * The program: main() on this process's arguments, then the end of the process as soon as its
 * output is written (exit.ts says why). `beforeExit` runs in between, the run's locks released and
 * its output written (start.ts keeps the V8 code cache there); it never changes the exit code.
 */
export function runProgram(beforeExit: (ran: boolean) => void = () => undefined): void {
  const end = (code: ExitCode) => {
    trace("exit");
    // The result is decided: a SIGTERM now (the agent stopping the command) must not turn it into
    // 143 while the output is written.
    process.removeAllListeners("SIGTERM").removeAllListeners("SIGINT");
    process.on("SIGTERM", () => undefined).on("SIGINT", () => undefined);
    try {
      beforeExit(commandRan);
    } catch {
      // Nothing after the run may change its outcome.
    }
    exitAfterOutput(code);
  };
  main(process.argv.slice(2), process.env).then(end, (error: unknown) => {
    log(`error: unexpected failure: ${error instanceof Error ? error.stack : String(error)}`);
    end(EXIT.failed);
  });
}

/** Run directly (tsx ec2-scripts/copier/main.ts); the bundle runs it through start.ts. */
if (require.main === module) runProgram();

/**
 * The documents (components/document-content.ts), run as SSM Run Command runs them: parameters
 * substituted textually, the command run by sh (dash, as on the Debian worker) with this machine's
 * coreutils and node. The copier they fetch is a probe that prints its arguments and ECR_SYNC_*
 * environment; `aws` is a stand-in on PATH that logs its arguments and copies the object from a
 * folder that plays the bucket. test/system/reconcile-document.test.ts runs the same lines in
 * the worker's root against moto's S3 with the real bundle.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  CommandDocument,
  COPIER_CACHE_DIR,
  CopierDocumentArgs,
  CopierLocation,
  MAX_DOCUMENT_BYTES,
  BOOLEAN_PATTERN,
  RECONCILE_TIMEOUT_SECONDS,
  buildCopierDocument,
  buildReconcileDocument,
  buildSyncDocument,
  copierCacheLine,
  fetchCopier,
  reconcileDocumentParameters,
  shellQuote,
  syncDocumentParameters,
} from "../../components/document-content";
import { copierObjectKey } from "../../components/arns";
import { IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN, REPOSITORY_NAME_PATTERN } from "../../common/naming";
import { SYNC_PARAMETERS } from "../../common/ssm-command";

const environment = {
  sourceRegistry: "770203350335.dkr.ecr.us-east-1.amazonaws.com",
  targetRegistry: "730096353738.dkr.ecr.us-east-1.amazonaws.com",
  targetRoleArn: "arn:aws:iam::730096353738:role/ecr-sync-target",
  region: "us-east-1",
  repositories: { "kuali-coeus": "coeus", "kuali-coeus-feature": "coeus-feature" },
  resultsLogGroup: "/ecr-sync/results",
  copyReferrers: true,
};

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/** A stand-in for the copier that reports its arguments and environment, one per line, and exits with PROBE_EXIT. */
const PROBE = [
  'for (const argument of process.argv.slice(2)) console.log("arg=" + argument);',
  'for (const name of Object.keys(process.env).filter((n) => n.startsWith("ECR_SYNC_")).sort()) console.log(name + "=" + process.env[name]);',
  'process.exitCode = Number(process.env.PROBE_EXIT ?? "0");',
  "",
].join("\n");
const BUCKET = "ecr-sync-copier-0a1b2c3";
const probe: CopierLocation = { bucket: BUCKET, sha256: sha256(PROBE), region: "us-east-1" };

/**
 * A worker's disk for the documents: the cache folder the command is pointed at (the worker's is
 * /var/lib/ecr-sync/copier), a folder standing in for the bucket, and an `aws` that logs each call
 * and serves `s3 cp s3://BUCKET/KEY FILE` from that folder (a missing object fails, as S3's 404 does).
 */
class Disk {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-document-"));
  readonly cache = path.join(this.root, "var-lib", "copier");
  readonly bucket = path.join(this.root, "bucket");
  readonly awsLog = path.join(this.root, "aws.log");
  private readonly bin = path.join(this.root, "bin");

  constructor(objects: Record<string, string> = { [copierObjectKey(probe.sha256)]: PROBE }) {
    fs.mkdirSync(path.join(this.bucket, "copier"), { recursive: true });
    fs.mkdirSync(this.bin);
    for (const [key, text] of Object.entries(objects)) fs.writeFileSync(path.join(this.bucket, key), text);
    fs.writeFileSync(this.awsLog, "");
    fs.writeFileSync(
      path.join(this.bin, "aws"),
      [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >> '${this.awsLog}'`,
        '[ "$1 $2" = "s3 cp" ] || exit 2',
        'for a; do case "$a" in s3://*) src="$a";; esac; done',
        'for a; do dst="$a"; done',
        `key="\${src#s3://*/}"; [ -f '${this.bucket}'/"$key" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 1; }`,
        // AWS_STAND_IN_GATE=DIR: write the first half, make DIR/half, wait for DIR/go, then the rest
        // (a download in progress, held there until the test lets it go).
        `if [ -n "\${AWS_STAND_IN_GATE:-}" ]; then size="$(wc -c < '${this.bucket}'/"$key")"; head -c "$((size / 2))" '${this.bucket}'/"$key" > "$dst"; : > "$AWS_STAND_IN_GATE/half"; while [ ! -e "$AWS_STAND_IN_GATE/go" ]; do sleep 0.02; done; tail -c "+$((size / 2 + 1))" '${this.bucket}'/"$key" >> "$dst"; exit 0; fi`,
        `cat '${this.bucket}'/"$key" > "$dst"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
  }

  /** The `aws` calls made so far, one line of arguments each. */
  awsCalls(): string[] {
    return fs.readFileSync(this.awsLog, "utf8").split("\n").filter(Boolean);
  }

  /** The files in the cache folder (hidden temporary downloads included). */
  cached(): string[] {
    return fs.existsSync(this.cache) ? fs.readdirSync(this.cache).sort() : [];
  }

  /** Runs the document's command as SSM would: returns stdout, throws (with status, stderr) on a non-zero exit. */
  run(document: CommandDocument, given: Record<string, string>, env: Record<string, string> = {}): string {
    return execFileSync("sh", ["-c", this.command(document, given)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: this.env(env),
    });
  }

  /** The same, started in the background: resolves with its exit code, stdout and stderr. */
  start(
    document: CommandDocument,
    given: Record<string, string>,
    env: Record<string, string> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile("sh", ["-c", this.command(document, given)], { env: this.env(env) }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
      );
    });
  }

  private env(extra: Record<string, string>): Record<string, string> {
    return { PATH: `${this.bin}:${process.env.PATH ?? ""}`, HOME: "/nonexistent", ...extra };
  }

  /** The command with the parameters substituted as SSM does and the cache line pointed at this disk. */
  private command(document: CommandDocument, given: Record<string, string>): string {
    for (const [name, value] of Object.entries(given)) {
      const declared = document.parameters[name];
      expect(declared, `parameter ${name}`).to.exist;
      if (!new RegExp(declared.allowedPattern).test(value))
        throw new Error(`SSM would refuse ${name}=${value}`);
    }
    const parameters: Record<string, string> = {};
    for (const [name, declared] of Object.entries(document.parameters)) {
      const value = given[name] ?? declared.default;
      if (value === undefined) throw new Error(`SSM would refuse the command: parameter ${name} is required`);
      parameters[name] = value;
    }
    const lines = document.mainSteps[0].inputs.runCommand;
    expect(lines, "the document keeps the copier in /var/lib/ecr-sync/copier").to.include(
      copierCacheLine(COPIER_CACHE_DIR),
    );
    return lines
      .map((line) => (line === copierCacheLine(COPIER_CACHE_DIR) ? copierCacheLine(this.cache) : line))
      .join("\n")
      .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => parameters[name]);
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

const disks: Disk[] = [];
/** A fresh disk, removed after the suite. */
function disk(objects?: Record<string, string>): Disk {
  const d = new Disk(objects);
  disks.push(d);
  return d;
}
after(() => disks.forEach((d) => d.remove()));

/** Runs `document` on a fresh disk (so the copier is downloaded), as SSM would. */
function runAsSsmWould(document: CommandDocument, given: Record<string, string>): string {
  return disk().run(document, given);
}

/** What a failed run said and how it ended. */
function failure(run: () => unknown): { status: number; stdout: string; stderr: string } {
  try {
    run();
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    if (typeof e.status !== "number") throw error;
    return { status: e.status, stdout: String(e.stdout ?? ""), stderr: String(e.stderr ?? "") };
  }
  throw new Error("the command succeeded");
}

const pushed = {
  sourceRepository: "kuali-coeus",
  targetRepository: "coeus",
  tag: "2401.0042",
  digest: `sha256:${"ab".repeat(32)}`,
};

describe("the SSM sync document (components/document-content.ts)", () => {
  it("declares the contract parameters with ECR's naming rules as allowedPatterns", () => {
    const parameters = syncDocumentParameters();
    expect(Object.keys(parameters).sort()).to.deep.equal(Object.values(SYNC_PARAMETERS).sort());
    expect(parameters.sourceRepository).to.include({
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: 2,
      maxChars: 256,
    });
    expect(parameters.targetRepository).to.include({
      allowedPattern: REPOSITORY_NAME_PATTERN,
      minChars: 2,
      maxChars: 256,
    });
    expect(parameters.tag).to.include({ allowedPattern: IMAGE_TAG_PATTERN, maxChars: 128 });
    expect(parameters.digest).to.include({
      allowedPattern: IMAGE_DIGEST_PATTERN,
      minChars: 71,
      maxChars: 71,
    });
  });

  it("admits no shell metacharacter through any parameter's pattern", () => {
    const hostile = [
      "a;id",
      "a b",
      "$(id)",
      "`id`",
      "a'b",
      'a"b',
      "a|b",
      "a&b",
      "a\nb",
      "a>b",
      "../x",
      "-rf",
      "a{{b}}",
    ];
    for (const [name, parameter] of Object.entries(syncDocumentParameters())) {
      const pattern = new RegExp(parameter.allowedPattern);
      for (const value of hostile)
        expect(pattern.test(value), `${name} admits ${JSON.stringify(value)}`).to.equal(false);
    }
  });

  it("runs the fetched copier with exactly the pushed values as arguments and the baked environment", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const output = runAsSsmWould(document, pushed).trim().split("\n");
    expect(output.filter((l) => l.startsWith("arg="))).to.deep.equal([
      "arg=copy",
      "arg=--source-repository",
      "arg=kuali-coeus",
      "arg=--target-repository",
      "arg=coeus",
      "arg=--tag",
      "arg=2401.0042",
      "arg=--digest",
      `arg=${pushed.digest}`,
    ]);
    expect(output.filter((l) => l.startsWith("ECR_SYNC_"))).to.deep.equal([
      `ECR_SYNC_COPY_REFERRERS=true`,
      `ECR_SYNC_REGION=us-east-1`,
      `ECR_SYNC_REPOSITORY_MAP={"kuali-coeus":"coeus","kuali-coeus-feature":"coeus-feature"}`,
      `ECR_SYNC_RESULTS_LOG_GROUP=/ecr-sync/results`,
      `ECR_SYNC_SOURCE_REGISTRY=770203350335.dkr.ecr.us-east-1.amazonaws.com`,
      `ECR_SYNC_TARGET_REGISTRY=730096353738.dkr.ecr.us-east-1.amazonaws.com`,
      `ECR_SYNC_TARGET_ROLE_ARN=arn:aws:iam::730096353738:role/ecr-sync-target`,
      `ECR_SYNC_TLS_VERIFY=true`,
    ]);
    const hostile = `x'; id; '$(id) \`id\` "$HOME" \\`;
    const quoted = runAsSsmWould(
      buildSyncDocument({ copier: probe, environment: { ...environment, targetRoleArn: hostile } }),
      pushed,
    );
    expect(quoted.split("\n")).to.include(`ECR_SYNC_TARGET_ROLE_ARN=${hostile}`);
  });

  it("passes the copier's exit status on as the command's", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const ran = failure(() => disk().run(document, pushed, { PROBE_EXIT: "3" }));
    expect(ran.status).to.equal(3);
    expect(ran.stdout).to.include("arg=copy");
  });

  it("downloads the bundle by its key with the region on the first run, then runs the kept copy without calling aws", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const d = disk();
    expect(d.run(document, pushed)).to.include("arg=copy");
    expect(d.awsCalls()).to.deep.equal([
      `s3 cp --region us-east-1 --only-show-errors s3://${BUCKET}/copier/${probe.sha256}.cjs ${d.cache}/${d.awsCalls()[0].split("/").pop()}`,
    ]);
    expect(d.cached(), "one file, named by its hash; no download left behind").to.deep.equal([
      `${probe.sha256}.cjs`,
    ]);
    const kept = path.join(d.cache, `${probe.sha256}.cjs`);
    expect(fs.readFileSync(kept, "utf8")).to.equal(PROBE);
    expect((fs.statSync(kept).mode & 0o777).toString(8)).to.equal("644");
    expect((fs.statSync(d.cache).mode & 0o777).toString(8)).to.equal("755");
    expect(d.run(document, pushed)).to.include("arg=copy");
    expect(
      d.run(buildReconcileDocument({ copier: probe, environment, reconcileParallelism: 4 }), {}),
    ).to.include("arg=reconcile");
    expect(d.awsCalls(), "the second and third runs used the kept copy").to.have.length(1);
  });

  it("refuses a bundle whose sha256 is not the document's: nothing runs, nothing is kept, both hashes named", () => {
    const tampered = PROBE.replace("arg=", "ARG=");
    const d = disk({ [copierObjectKey(probe.sha256)]: tampered });
    const ran = failure(() => d.run(buildSyncDocument({ copier: probe, environment }), pushed));
    expect(ran.status).to.equal(1);
    expect(ran.stdout, "nothing of the copier ran").to.equal("");
    expect(ran.stderr).to.include(
      `s3://${BUCKET}/copier/${probe.sha256}.cjs has sha256 ${sha256(tampered)}, not the ${probe.sha256} this document names`,
    );
    expect(ran.stderr).to.include("the copier was not run");
    expect(d.cached(), "no copy kept, no download left").to.deep.equal([]);
  });

  it("never lets a run see a download in progress: runs that start during it each fetch their own, all run the checked copier, one file is kept", async () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const d = disk();
    const gate = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-gate-"));
    try {
      const first = d.start(document, pushed, { AWS_STAND_IN_GATE: gate });
      // The first run's download is half written and held; the second runs from start to end meanwhile.
      while (!fs.existsSync(path.join(gate, "half"))) await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await d.start(document, pushed);
      fs.writeFileSync(path.join(gate, "go"), "");
      const runs = [await first, second];
      for (const run of runs) {
        expect(run.stderr).to.equal("");
        expect(run.code).to.equal(0);
        expect(run.stdout).to.include("arg=copy");
      }
    } finally {
      fs.rmSync(gate, { recursive: true, force: true });
    }
    expect(d.awsCalls(), "the second run fetched its own: it never saw the first's download").to.have.length(
      2,
    );
    expect(d.cached()).to.deep.equal([`${probe.sha256}.cjs`]);
    expect(fs.readFileSync(path.join(d.cache, `${probe.sha256}.cjs`), "utf8")).to.equal(PROBE);
  });

  it("downloads again when the kept copy no longer has its hash, and runs the checked one", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const d = disk();
    d.run(document, pushed);
    const kept = path.join(d.cache, `${probe.sha256}.cjs`);
    fs.writeFileSync(kept, 'console.log("not the copier")\n');
    const output = d.run(document, pushed);
    expect(output).not.to.include("not the copier");
    expect(output).to.include("arg=copy");
    expect(fs.readFileSync(kept, "utf8")).to.equal(PROBE);
    expect(d.awsCalls()).to.have.length(2);
  });

  it("stops, naming the object, when the download fails, and runs nothing", () => {
    const d = disk({});
    const ran = failure(() => d.run(buildSyncDocument({ copier: probe, environment }), pushed));
    expect(ran.status).to.equal(1);
    expect(ran.stdout).to.equal("");
    expect(ran.stderr).to.include("(404) when calling the HeadObject operation");
    expect(ran.stderr).to.include(`downloading s3://${BUCKET}/copier/${probe.sha256}.cjs failed`);
    expect(d.cached()).to.deep.equal([]);
  });

  it("refuses to run from a cache folder that is not root's own with mode 0755", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const d = disk();
    d.run(document, pushed);
    fs.chmodSync(d.cache, 0o777);
    const ran = failure(() => d.run(document, pushed));
    expect(ran.stdout).to.equal("");
    expect(ran.stderr).to.include(`${d.cache} is not root's own with mode 0755`);
  });

  it("checks the copier it runs, never another file: the file run is the one just hashed", () => {
    const lines = buildSyncDocument({ copier: probe, environment }).mainSteps[0].inputs.runCommand;
    const run = lines.findIndex((l) => l.startsWith("exec node "));
    expect(run).to.equal(lines.length - 1);
    expect(lines[run]).to.match(/^exec node "\$ecr_sync_copier" /);
    const lastCheck = lines.map((l) => l.includes('"$ecr_sync_got" = "$ecr_sync_sha256"')).lastIndexOf(true);
    expect(lastCheck).to.be.above(lines.indexOf("fi"));
    expect(lines.slice(lastCheck + 1, run).every((l) => /^(export |set --|if \[ )/.test(l))).to.equal(true);
  });

  it("names the bundle by bucket, key and sha256 only: the document stays a few KB, far under SSM's 64 KB", () => {
    for (const build of [buildSyncDocument, buildReconcileDocument]) {
      const document = build({ copier: probe, environment, reconcileParallelism: 4 });
      const bytes = Buffer.byteLength(JSON.stringify(document));
      expect(bytes, build.name)
        .to.be.below(8 * 1024)
        .and.below(MAX_DOCUMENT_BYTES);
      const text = document.mainSteps[0].inputs.runCommand.join("\n");
      expect(text).to.include(`ecr_sync_source='s3://${BUCKET}/copier/${probe.sha256}.cjs'`);
      expect(text).to.include(`ecr_sync_sha256='${probe.sha256}'`);
    }
  });

  it("is shell ShellCheck accepts as POSIX sh, once SSM has put the parameters in", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-sync-shellcheck-"));
    try {
      const documents = {
        sync: [
          buildSyncDocument({ copier: probe, environment }),
          { ...pushed, pushedAt: "2026-06-01T12:00:03Z" },
        ],
        reconcile: [
          buildReconcileDocument({ copier: probe, environment, reconcileParallelism: 4 }),
          { dryRun: "true" },
        ],
      } as const;
      for (const [name, [document, given]] of Object.entries(documents)) {
        const file = path.join(dir, `${name}.sh`);
        const command = document.mainSteps[0].inputs.runCommand
          .join("\n")
          .replace(
            /\{\{\s*(\w+)\s*\}\}/g,
            (_, parameter: string) => (given as Record<string, string>)[parameter],
          );
        fs.writeFileSync(file, `#!/bin/sh\n${command}\n`);
        // The substituted flags are constants to ShellCheck, as they are to the shell that runs them.
        execFileSync("shellcheck", ["--shell=sh", "--exclude=SC2050,SC2157", file], { encoding: "utf8" });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a copier location that is not a bucket name, a sha256 and a region, before it reaches the shell", () => {
    const hostile: Array<[Partial<CopierLocation>, RegExp]> = [
      [{ bucket: "b'; rm -rf /; '" }, /^copier\.bucket: .* is not an S3 bucket name/],
      [{ bucket: "ecr-sync-*" }, /^copier\.bucket: .* is not an S3 bucket name/],
      [{ sha256: "A".repeat(64) }, /^sha256: .* is not a SHA-256 in hex/],
      [{ sha256: `${"a".repeat(63)}'` }, /^sha256: .* is not a SHA-256 in hex/],
      [{ region: "us-east-1'; id; '" }, /^copier\.region: .* is not an AWS region name/],
      [{ region: "{{region}}" }, /^copier\.region: .* is not an AWS region name/],
    ];
    for (const [change, message] of hostile) {
      expect(() => fetchCopier({ ...probe, ...change }), JSON.stringify(change)).to.throw(message);
      expect(() => buildSyncDocument({ copier: { ...probe, ...change }, environment })).to.throw(message);
    }
  });

  it("quotes every placeholder, so a substituted value stays one word", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const command = document.mainSteps[0].inputs.runCommand.join("\n");
    for (const name of Object.values(SYNC_PARAMETERS)) expect(command).to.include(`'{{${name}}}'`);
    expect(command.replace(/'\{\{\w+\}\}'/g, "")).not.to.include("{{");
  });

  it("passes the push time as --pushed-at when the trigger sends pushedAt, and leaves it out when empty", () => {
    const document = buildSyncDocument({ copier: probe, environment });
    const args = (given: Record<string, string>) =>
      runAsSsmWould(document, given)
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("arg="));
    const withoutTime = args(pushed);
    expect(args({ ...pushed, pushedAt: "2026-06-01T12:00:03Z" })).to.deep.equal([
      ...withoutTime,
      "arg=--pushed-at",
      "arg=2026-06-01T12:00:03Z",
    ]);
    expect(args({ ...pushed, pushedAt: "2026-06-01T12:00:03.123Z" }).slice(-1)).to.deep.equal([
      "arg=2026-06-01T12:00:03.123Z",
    ]);
    expect(args({ ...pushed, pushedAt: "" })).to.deep.equal(withoutTime);
    expect(withoutTime).not.to.include("arg=--pushed-at");
    expect(syncDocumentParameters().pushedAt).to.include({ default: "" });
  });

  it("refuses a malformed push time, as SSM's allowedPattern would", () => {
    const pattern = new RegExp(syncDocumentParameters().pushedAt.allowedPattern);
    for (const value of ["2026-06-01T12:00:03Z", "2026-06-01T12:00:03.5Z", ""])
      expect(pattern.test(value), value).to.equal(true);
    for (const value of [
      "2026-06-01",
      "2026-06-01T12:00:03",
      "2026-06-01T12:00:03+00:00",
      "2026-06-01 12:00:03Z",
      "2026-06-01T12:00:03Z'; id; '",
      "$(date)",
      "2026-06-01T12:00:03Z\n",
      " ",
    ])
      expect(pattern.test(value), JSON.stringify(value)).to.equal(false);
    const document = buildSyncDocument({ copier: probe, environment });
    expect(() => runAsSsmWould(document, { ...pushed, pushedAt: "2026-06-01T12:00:03+02:00" })).to.throw(
      "SSM would refuse pushedAt",
    );
  });

  it("refuses an option whose parameter has no empty default or admits a quote", () => {
    const base = {
      description: "d",
      copier: probe,
      environment: {},
      arguments: [],
      timeoutSeconds: 60,
      stepName: "s",
      options: [{ parameter: "at", flag: "--at" }],
    };
    expect(() =>
      buildCopierDocument({
        ...base,
        parameters: { at: { type: "String", description: "d", allowedPattern: "^[0-9]*$" } },
      }),
    ).to.throw(/parameter at must default to ""/);
    expect(() =>
      buildCopierDocument({
        ...base,
        parameters: { at: { type: "String", description: "d", allowedPattern: "^.*$", default: "" } },
      }),
    ).to.throw(/admits a quote/);
    expect(() => buildCopierDocument({ ...base, parameters: {} })).to.throw(/does not declare/);
  });

  it("refuses an environment value with {{ or a newline", () => {
    expect(() =>
      buildSyncDocument({
        copier: probe,
        environment: { ...environment, targetRoleArn: "{{ssm:/x}}" },
      }),
    ).to.throw(/environment variable ECR_SYNC_TARGET_ROLE_ARN line 1 contains "\{\{"/);
    expect(() =>
      buildSyncDocument({
        copier: probe,
        environment: { ...environment, region: "us-east-1\nrm" },
      }),
    ).to.throw(/ECR_SYNC_REGION: the value must be one line/);
  });

  it("refuses an argument that references an undeclared parameter", () => {
    expect(() =>
      buildCopierDocument({
        description: "d",
        copier: probe,
        environment: {},
        parameters: syncDocumentParameters(),
        arguments: ["copy", "{{image}}"],
        timeoutSeconds: 60,
        stepName: "s",
      }),
    ).to.throw(/references \{\{image\}\}, which the document does not declare/);
  });

  it("refuses a document larger than SSM accepts", () => {
    const args: CopierDocumentArgs = {
      description: "d",
      copier: probe,
      environment: { ECR_SYNC_PADDING: "x".repeat(MAX_DOCUMENT_BYTES) },
      parameters: {},
      arguments: ["copy"],
      timeoutSeconds: 60,
      stepName: "s",
    };
    expect(() => buildCopierDocument(args)).to.throw(/SSM accepts at most 65536/);
  });

  it("quotes values for sh so they come back unchanged", () => {
    for (const value of ["plain", "it's", '$HOME `id` "q"', ""]) {
      expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" })).to.equal(
        value,
      );
    }
  });
});

describe("the SSM reconcile document (components/document-content.ts)", () => {
  const reconcile = (reconcileParallelism = 4) =>
    buildReconcileDocument({
      copier: probe,
      environment,
      reconcileParallelism,
    });
  const argumentsOf = (output: string) =>
    output
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("arg="));

  it("declares one parameter, dryRun, that admits only true and false and defaults to false", () => {
    const parameters = reconcileDocumentParameters();
    expect(Object.keys(parameters)).to.deep.equal(["dryRun"]);
    expect(parameters.dryRun).to.include({ allowedPattern: BOOLEAN_PATTERN, default: "false" });
    const pattern = new RegExp(parameters.dryRun.allowedPattern);
    expect(["true", "false"].map((v) => pattern.test(v))).to.deep.equal([true, true]);
    for (const value of ["", "True", "yes", "1", "true;id", "false ", "--dry-run", "$(id)"]) {
      expect(pattern.test(value), JSON.stringify(value)).to.equal(false);
    }
  });

  it("runs the copier's reconcile, nothing more, when sent without parameters (the schedule's default)", () => {
    const output = runAsSsmWould(reconcile(), {});
    expect(argumentsOf(output)).to.deep.equal(["arg=reconcile"]);
    expect(output).to.include(
      `ECR_SYNC_REPOSITORY_MAP={"kuali-coeus":"coeus","kuali-coeus-feature":"coeus-feature"}`,
    );
  });

  it("runs reconcile with dryRun=false exactly as without parameters", () => {
    expect(argumentsOf(runAsSsmWould(reconcile(), { dryRun: "false" }))).to.deep.equal(["arg=reconcile"]);
  });

  it("adds --dry-run, as one argument, when dryRun=true", () => {
    expect(argumentsOf(runAsSsmWould(reconcile(), { dryRun: "true" }))).to.deep.equal([
      "arg=reconcile",
      "arg=--dry-run",
    ]);
  });

  it("bakes the sync document's environment plus the parallelism, and allows a reconcile four hours", () => {
    const reconcileLines = reconcile().mainSteps[0].inputs.runCommand.filter((l) => l.startsWith("export "));
    const syncLines = buildSyncDocument({
      copier: probe,
      environment,
    }).mainSteps[0].inputs.runCommand.filter((l) => l.startsWith("export "));
    expect(syncLines).to.have.length(8);
    expect(reconcileLines).to.deep.equal([...syncLines, "export ECR_SYNC_RECONCILE_PARALLELISM='4'"]);
    expect(reconcile().mainSteps[0].inputs.timeoutSeconds)
      .to.equal(RECONCILE_TIMEOUT_SECONDS)
      .and.equal(14400);
  });

  it("hands the copier the configured parallelism, which the sync document's copy never sees", () => {
    const variable = (output: string) =>
      output
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("ECR_SYNC_RECONCILE_PARALLELISM="));
    expect(variable(runAsSsmWould(reconcile(9), {}))).to.deep.equal(["ECR_SYNC_RECONCILE_PARALLELISM=9"]);
    expect(variable(runAsSsmWould(reconcile(9), { dryRun: "true" }))).to.deep.equal([
      "ECR_SYNC_RECONCILE_PARALLELISM=9",
    ]);
    const sync = buildSyncDocument({ copier: probe, environment });
    expect(variable(runAsSsmWould(sync, pushed))).to.deep.equal([]);
  });

  it("passes the copier's exit status on as the command's", () => {
    const ran = failure(() => disk().run(reconcile(), {}, { PROBE_EXIT: "4" }));
    expect(ran.status).to.equal(4);
  });

  it("refuses a switch on an undeclared parameter or on one that is not true/false", () => {
    const base = {
      description: "d",
      copier: probe,
      environment: {},
      arguments: ["reconcile"],
      timeoutSeconds: 60,
      stepName: "s",
    };
    expect(() =>
      buildCopierDocument({
        ...base,
        parameters: {},
        switches: [{ parameter: "dryRun", flag: "--dry-run" }],
      }),
    ).to.throw(/switch "--dry-run" reads \{\{dryRun\}\}, which the document does not declare/);
    expect(() =>
      buildCopierDocument({
        ...base,
        parameters: { dryRun: { type: "String", description: "d", allowedPattern: "^.*$" } },
        switches: [{ parameter: "dryRun", flag: "--dry-run" }],
      }),
    ).to.throw(/parameter dryRun must have allowedPattern \^\(true\|false\)\$/);
  });

  it("gives the sync document no switches, only the --pushed-at option after its fixed arguments", () => {
    const lines = buildSyncDocument({
      copier: probe,
      environment,
    }).mainSteps[0].inputs.runCommand;
    expect(lines.at(-1)).to.match(/^exec node "\$ecr_sync_copier" 'copy' .*'\{\{digest\}\}' "\$@"$/);
    expect(lines.slice(-3, -1)).to.deep.equal([
      "set --",
      `if [ -n '{{pushedAt}}' ]; then set -- "$@" '--pushed-at' '{{pushedAt}}'; fi`,
    ]);
  });
});

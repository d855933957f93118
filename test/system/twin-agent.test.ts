/**
 * The twin's SSM agent held to the rendered number of command workers (local/twin/agent-model.ts): a
 * burst of pushes during a long reconcile must still arrive with no command timed out, and with one
 * worker and a short delivery timeout the commands it cannot take must time out and page.
 */
import { expect } from "chai";
import { COMMAND_DELIVERY_TIMEOUT_SECONDS } from "../../common/ssm-command";
import { SSM_AGENT_COMMAND_WORKERS } from "../../components/user-data";
import { waitFor } from "../../local/ports";
import { runTwin } from "../../local/twin/run";
import { pushImages, ReconcileGate } from "../support/twin";

describe("the twin's SSM agent at its rendered limits", function () {
  this.timeout(120000);

  it("a burst of pushes beyond what the agent can take during a long reconcile all arrive: the agent at its rendered workers, no command timed out, no alert", async function () {
    this.timeout(600000);
    const gate = await ReconcileGate.create();
    const lines: string[] = [];
    let drained = 0;
    let pushed = 0;
    try {
      await runTwin({
        write: (line) => lines.push(line),
        agent: { path: [gate.dir] },
        whileRunning: async (twin) => {
          expect(twin.agent.limits).to.deep.equal({ workers: SSM_AGENT_COMMAND_WORKERS, buffer: 5 });
          await gate.arm();
          const reconcile = await twin.sendReconcile();
          await gate.held();

          // More than the agent takes at once (its workers but the reconcile's, then its buffer):
          // some copies wait in the agent's buffer and some in SSM, for a worker to come free. The
          // copies are held at the gate until every command is with the agent or SSM, so that this
          // holds however fast a copy is.
          const free = SSM_AGENT_COMMAND_WORKERS - 1;
          const burst = free + twin.agent.limits.buffer + 3;
          const pushes = await pushImages(twin, burst, "burst");
          await gate.armCopies();
          const started = Date.now();
          pushed = pushes.length;
          const sent = await twin.sendPushes(pushes);
          await gate.copiesHeld(free);
          await waitFor(
            "five commands in the agent's buffer and three with SSM",
            async () => {
              const queued = twin.agent.queued();
              return queued.buffered.length === twin.agent.limits.buffer && queued.withService.length === 3;
            },
            60000,
          );
          await gate.releaseCopies();
          const settled = await twin.settle(sent.flatMap((s) => s.commandIds));
          drained = (Date.now() - started) / 1000;
          // All of it while the reconcile held its worker.
          expect(twin.agent.running()).to.deep.equal([reconcile]);

          expect(settled.map((s) => s.outcome.status)).to.deep.equal(new Array(burst).fill("Success"));
          expect(settled.flatMap((s) => s.alerts)).to.deep.equal([]);
          // Each with the delivery timeout the push trigger sends, as SSM recorded it.
          expect([...new Set(settled.map((s) => s.outcome.command.timeoutSeconds))]).to.deep.equal([
            COMMAND_DELIVERY_TIMEOUT_SECONDS,
          ]);
          for (const push of pushes) {
            const target = twin.plan.repositories[push.repository];
            expect(await twin.world.legacy.digestOf(target, push.tag), `${target}:${push.tag}`).to.equal(
              push.digest,
            );
          }
          const stats = twin.agent.stats();
          expect(stats.peakRunning, "commands at once: the reconcile and five copies").to.equal(
            SSM_AGENT_COMMAND_WORKERS,
          );
          expect(stats.waitedInBuffer, "copies that waited in the agent's buffer").to.be.above(0);
          expect(stats.waitedInService, "copies that waited in SSM for the agent to take them").to.be.above(
            0,
          );
          expect(stats.timedOut).to.equal(0);

          await gate.release();
          const [ended] = await twin.settle([reconcile]);
          expect(ended.outcome.status).to.equal("Success");
          expect(ended.alerts).to.deep.equal([]);
        },
      });
    } finally {
      await gate.remove();
    }
    const output = lines.join("\n");
    expect(output).to.not.match(/alert to the on-call engineer|ended TimedOut/);
    process.stdout.write(`      (${pushed} pushes sent and copied in ${drained.toFixed(1)} s)\n`);
  });

  it("with one command worker and a short delivery timeout, the commands the agent cannot buffer end TimedOut and page", async function () {
    this.timeout(600000);
    const deliveryTimeoutSeconds = 5;
    const gate = await ReconcileGate.create();
    const lines: string[] = [];
    try {
      await runTwin({
        write: (line) => lines.push(line),
        agent: { path: [gate.dir], commandWorkersLimit: 1, deliveryTimeoutSeconds },
        whileRunning: async (twin) => {
          const { buffer } = twin.agent.limits;
          expect(twin.agent.limits).to.deep.equal({ workers: 1, buffer: 5 });
          await gate.arm();
          const reconcile = await twin.sendReconcile();
          await gate.held();

          const pushes = await pushImages(twin, buffer + 3, "late");
          const sent = await twin.sendPushes(pushes);
          const ids = sent.flatMap((s) => s.commandIds);
          // The reconcile holds the only worker: the agent accepts as many as its buffer takes.
          const { buffered } = twin.agent.queued();
          expect(buffered).to.have.length(buffer);
          const late = ids.filter((id) => !buffered.includes(id));
          expect(late).to.have.length(3);

          // They end while the worker is still held: nothing but the delivery timeout ends them.
          const timedOut = await twin.settle(late);
          expect(twin.agent.running()).to.deep.equal([reconcile]);
          for (const { outcome, alerts } of timedOut) {
            const { commandId, requestedAt } = outcome.command;
            expect(outcome.status, commandId).to.equal("TimedOut");
            if (outcome.status !== "TimedOut") continue;
            expect(outcome.endedAt.getTime() - requestedAt.getTime()).to.equal(deliveryTimeoutSeconds * 1000);
            // One notice per command, through the rendered rule: the invocation's event is not matched.
            expect(alerts, commandId).to.have.length(1);
            expect(alerts[0]).to.match(
              new RegExp(
                `the SSM command ${commandId} \\(document ecr-sync-copy-image\\) ended TimedOut at \\d{4}-`,
              ),
            );
            const push = pushes[sent.findIndex((s) => s.commandIds.includes(commandId))];
            expect(
              await twin.world.legacy.digestOf(twin.plan.repositories[push.repository], push.tag),
              `${push.tag}, whose command never ran`,
            ).to.equal(undefined);
          }
          expect(twin.agent.stats()).to.deep.include({ peakRunning: 1, waitedInBuffer: buffer, timedOut: 3 });

          // Released, the reconcile copies every missing tag (the timed-out ones too), then the buffered run.
          await gate.release();
          const rest = await twin.settle([reconcile, ...buffered]);
          expect(rest.map((s) => s.outcome.status)).to.deep.equal(new Array(buffer + 1).fill("Success"));
          expect(rest.flatMap((s) => s.alerts)).to.deep.equal([]);
          for (const push of pushes) {
            const target = twin.plan.repositories[push.repository];
            expect(await twin.world.legacy.digestOf(target, push.tag), `${target}:${push.tag}`).to.equal(
              push.digest,
            );
          }
        },
      });
    } finally {
      await gate.remove();
    }
    const output = lines.join("\n");
    expect(
      output.match(/alert to the on-call engineer \(rule ecr-sync-command-failed\): .* ended TimedOut/g),
    ).to.have.length(3);
    expect(output).to.match(/ended TimedOut after 5\.00 s: not delivered within its delivery timeout/);
  });
});

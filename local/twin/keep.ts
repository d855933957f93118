/**
 * `npm start -- --keep`: after the demonstration, the twin stays up and follows every tagged push
 * a person makes to the css registry, until `stop` resolves (Ctrl-C in scripts/start.ts).
 */
import { RunningTwin, TwinFailure, TwinResult } from "./run";

export async function keepRunning(twin: RunningTwin, stop: Promise<void>): Promise<void> {
  const { plan, world, progress } = twin;
  const css = world.login(world.css);
  const legacy = world.login(world.legacy);
  const [source, target] = Object.entries(plan.repositories)[0];
  progress.line("");
  progress.line(
    "The twin keeps running (--keep). Push your own image to a mapped css repository and watch it arrive:",
  );
  progress.line(
    `  skopeo copy --all --dest-tls-verify=false --dest-creds ${css.username}:${css.password} oci:YOUR_LAYOUT:REF docker://${world.css.host}/${source}:YOUR_TAG`,
  );
  progress.line(
    `  (any skopeo source works: docker-archive:FILE.tar, dir:DIR, …; mapped repositories: ${Object.entries(
      plan.repositories,
    )
      .map(([s, t]) => `${s} → ${t}`)
      .join(", ")})`,
  );
  progress.line(`Then look at it in legacy:`);
  progress.line(
    `  skopeo inspect --raw --tls-verify=false --creds ${legacy.username}:${legacy.password} docker://${world.legacy.host}/${target}:YOUR_TAG`,
  );
  progress.line("Ctrl-C stops everything the twin started.");

  let queue = Promise.resolve();
  world.pushes.onTagged((push) => {
    queue = queue.then(async () => {
      progress.step(`you pushed ${push.repository}:${push.tag}; following it`);
      try {
        const result: TwinResult = await twin.follow(push.repository, push.tag ?? "");
        progress.line(JSON.stringify(result));
      } catch (error) {
        progress.step(error instanceof TwinFailure ? `not synced — ${error.message}` : String(error));
      }
    });
  });
  await stop;
  await queue;
}

/**
 * `npm start -- --keep`: after the demonstration, the twin stays up and follows every tagged push
 * a person makes to the css registry, until `stop` resolves (a signal: local/twin/main.ts).
 */
import { PLATFORMS, RunningTwin, TwinFailure, TwinResult } from "./run";

/** The name of the test image --keep leaves in the twin's OCI layout for your pushes. */
export const TEST_IMAGE_REF = "test-image";

export async function keepRunning(twin: RunningTwin, stop: Promise<void>): Promise<void> {
  const { plan, world, progress } = twin;
  const css = world.login(world.css);
  const legacy = world.login(world.legacy);
  const [source, target] = Object.entries(plan.repositories)[0];
  // A ready image to push, since this machine has no Docker to build one: a tag of your own is a new push.
  const image = await world.layout.addMultiArch(PLATFORMS, [{ size: 4096 }], "your test image");
  await world.layout.name(image, TEST_IMAGE_REF);
  progress.line("");
  progress.line(
    "The twin keeps running (--keep). Push a test image to a mapped css repository (each run a new tag) and watch it arrive:",
  );
  progress.line(
    `  skopeo copy --all --dest-tls-verify=false --dest-creds ${css.username}:${css.password} oci:${world.layout.dir}:${TEST_IMAGE_REF} docker://${world.css.host}/${source}:mine-$(date +%s)`,
  );
  progress.line(
    `  (any image of yours works the same: skopeo copy … docker-archive:FILE.tar or dir:DIR instead of oci:…; mapped repositories: ${Object.entries(
      plan.repositories,
    )
      .map(([s, t]) => `${s} → ${t}`)
      .join(", ")})`,
  );
  progress.line(`Then read it in legacy (TAG: the one you pushed):`);
  progress.line(
    `  skopeo inspect --raw --tls-verify=false --creds ${legacy.username}:${legacy.password} docker://${world.legacy.host}/${target}:TAG`,
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

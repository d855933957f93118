import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderStack, Rendering } from "../../local/render";
import { COST_MARKERS, costSection, PRICES } from "../../scripts/synth-cost";

/**
 * The cost table (scripts/synth-cost.ts, `synth --cost`): counted from what the css stack renders,
 * and docs/operations.md#cost is exactly what it prints for the committed stack files.
 */
describe("the cost table, counted from the rendered stack", function () {
  this.timeout(120000);
  let css: Rendering;
  let scheduleOff: Rendering;
  before(async () => {
    [css, scheduleOff] = await Promise.all([
      renderStack("css"),
      renderStack("css", { config: { "ecr-sync:reconcileSchedule": "off" } }),
    ]);
  });

  it("is what docs/operations.md holds between its markers (regenerate it with synth --cost)", () => {
    const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "operations.md"), "utf8");
    const start = page.indexOf(COST_MARKERS.start);
    const end = page.indexOf(COST_MARKERS.end);
    expect(start, "the start marker").to.be.at.least(0);
    expect(end, "the end marker").to.be.above(start);
    const held = page.slice(start + COST_MARKERS.start.length, end).trim();
    expect(held).to.equal(costSection(css));
  });

  it("counts what the stack renders: the alarms follow the schedule, the worker its type and volume", () => {
    const section = costSection(css);
    expect(section).to.include("| seven alarms |");
    expect(section).to.include("| Worker `t4g.small`, always on | $0.0168 per hour [1] | **$12.26** |");
    expect(section).to.include("Its root volume, gp3 20 GiB");
    expect(section).to.include("nine custom metrics (7 the copier's, 2 from metric filters)");
    // Without the schedule there is no heartbeat alarm.
    expect(costSection(scheduleOff)).to.include("| six alarms |");
  });

  it("names every price's source and the day it was read", () => {
    const section = costSection(css);
    const prices = [
      ...Object.values(PRICES.instanceHour),
      ...Object.values(PRICES).filter((p) => "usd" in p),
    ];
    for (const price of prices as Array<{ source: string; read: string }>) {
      expect(section).to.include(`<${price.source}>`);
      expect(price.read).to.match(/^2\d{3}-\d{2}-\d{2}$/);
    }
  });

  it("says the legacy stack bills nothing of its own (a role), and names a volume type it has no price for", async () => {
    expect(costSection(await renderStack("legacy"))).to.match(/^Stack legacy: nothing it renders is billed/);
    const io2 = JSON.parse(JSON.stringify(css)) as Rendering;
    const worker = io2.resources.find((x) => x.type === "aws:ec2/instance:Instance")!;
    (worker.inputs.rootBlockDevice as { volumeType: string }).volumeType = "io2";
    const section = costSection(io2);
    expect(section).to.include(
      "| Its root volume, io2 20 GiB | not in this table: see <https://aws.amazon.com/ebs/pricing/> |".replace(
        /<|>/g,
        "",
      ),
    );
    expect(section).to.include("plus its volume");
  });
});

// Every resource's URN, pinned per stack. A URN is a resource's identity in state: a renamed resource, a changed
// type token or a changed parent is a replacement (a delete and a create) for every user who runs `pulumi up`.
// This test fails on any such change; a rename that is truly wanted needs an alias and a new pinned list.
// Regenerate the lists (only after adding the alias) with: EDGEML_PIN_URNS=1 npx mocha --spec test/urns.test.ts
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { listStacks, runOffline } from "../offline/engine";

const PINNED = path.join(__dirname, "fixtures", "urns");
// Bring-your-own resources are read, not created, under URNs of their own: pinned too, on the dev stack; and the
// Device Provisioning Service with its enrollment group, on prod (deviceProvisioning: dps).
const VARIANTS: Record<string, { stack: string; overrides: Record<string, unknown> }> = {
    "dev+existing": {
        stack: "dev",
        overrides: {
            existingResourceGroup: "shared-rg",
            existingRegistry: "images-rg/contosoacr",
            existingIotHub: "iot-rg/contoso-hub",
            existingWorkspace: "ml-rg/contoso-mlw",
            existingModel: "anomaly@latest",
        },
    },
    "prod+dps": { stack: "prod", overrides: { deviceProvisioning: "dps" } },
};

describe("URNs: every resource of every stack keeps its identity", function () {
    this.timeout(60_000);
    const cases = [
        ...listStacks().map((stack) => ({ label: stack, stack, overrides: {} })),
        ...Object.entries(VARIANTS).map(([label, v]) => ({ label, ...v })),
    ];
    for (const { label, stack, overrides } of cases) {
        const file = path.join(PINNED, `${label}.json`);
        it(`${label}: the URNs match test/fixtures/urns/${label}.json`, async function () {
            const { plan } = await runOffline({ stack, overrides });
            const urns = plan.resources.map((r) => r.urn).sort();
            if (process.env.EDGEML_PIN_URNS === "1") fs.writeFileSync(file, `${JSON.stringify(urns, null, 2)}\n`);
            // A stack a user added has nothing pinned yet: say so rather than fail or pretend to check.
            if (!fs.existsSync(file)) this.skip();
            assert.deepStrictEqual(urns, JSON.parse(fs.readFileSync(file, "utf8")));
        });
    }
});

// Microsoft's resource type definitions as a test oracle (issue 11): every azure-native resource every stack creates,
// as its inputs are sent, is mapped to the ARM request body and checked against the definition of its type and API
// version in azure-types/ of the reference data (bicep-types-az, generated from azure-rest-api-specs): no unknown or
// read-only property, required ones present, enums, patterns, lengths, integer ranges, names. The mapping from
// azure-native's (flattened, sometimes renamed) inputs comes from the SDK's own files; see
// test/support/azure-type-oracle.ts for what it takes from where. Planted violations prove each rule can fail.
import * as assert from "assert";
import { AZURE_TYPES, azureTypeOf } from "../components/shared/azure";
import { listStacks, runOffline, type OfflinePlan, type PlannedResource } from "../offline";
import { sdkResource } from "./support/azure-native-sdk";
import { AZURE_TYPES_DIR, AzureTypeOracle, formatViolation, type ArmTypeInfo, type Violation } from "./support/azure-type-oracle";
import { needsReference, requireReference } from "./support/references";

/**
 * The ARM type of a token, from the project's Azure type table (the npm package does not record it): parents'
 * `{input}` placeholders dropped. The table leaves a resource group's blank, as its id has no /providers/ part.
 */
function armTypeOf(token: string): ArmTypeInfo | undefined {
    const entry = azureTypeOf(token);
    if (!entry) return undefined;
    const armType =
        entry.token === AZURE_TYPES.resourceGroup.token ? "Microsoft.Resources/resourceGroups" : entry.armType.replace(/\/\{\w+\}/g, "");
    return { armType, nameInput: entry.nameInput };
}

/** Types no ARM definition describes, with why: checked here to be exactly the ones the oracle declines. */
const NOT_ARM: Record<string, RegExp> = {
    // azure-native implements storage:Blob itself, over the blob service's data plane: no REST API version, no ARM type.
    "azure-native:storage:Blob": /records no Azure REST API version/,
};

/**
 * Real findings on the program's resources, each with the component line that sets it. Listed findings are
 * expected (and asserted to be still present, so fixing one fails this test until the entry is removed); anything
 * else fails. None at present: dev, prod and the variants pass as they are.
 */
interface KnownFinding {
    label: string;
    type: string;
    path: string;
    rule: RegExp;
    /** file:line of the component that sets it. */
    source: string;
}
const KNOWN_FINDINGS: KnownFinding[] = [];

const VARIANTS: Record<string, { stack: string; overrides: Record<string, unknown> }> = {
    // An existing resource group and registry: the rest is created into the existing group.
    "dev+existing-registry": { stack: "dev", overrides: { existingRegistry: "images-rg/contosoacr", existingResourceGroup: "shared-rg" } },
    // A fleet whose devices enrol themselves: the Device Provisioning Service is created, linked to the hub.
    "prod+dps": { stack: "prod", overrides: { deviceProvisioning: "dps", edgeDevices: [] } },
};

const CASES = [
    ...listStacks().map((stack) => ({ label: stack, stack, overrides: {} })),
    ...Object.entries(VARIANTS).map(([label, v]) => ({ label, ...v })),
];

const oracle = new AzureTypeOracle(armTypeOf);

const plans = new Map<string, Promise<OfflinePlan>>();
function planOf(label: string): Promise<OfflinePlan> {
    let plan = plans.get(label);
    if (!plan) {
        const { stack, overrides } = CASES.find((c) => c.label === label)!;
        plan = runOffline({ stack, overrides }).then((run) => run.plan);
        plans.set(label, plan);
    }
    return plan;
}

/** What the test checks: every azure-native resource the plan creates (reads of existing state are not requests). */
function createdAzure(plan: OfflinePlan): PlannedResource[] {
    return plan.resources.filter((r) => r.custom && r.type.startsWith("azure-native:") && r.operation !== "read");
}

interface StackReport {
    checked: PlannedResource[];
    notChecked: { resource: PlannedResource; why: string }[];
    violations: Violation[];
}

function checkPlan(plan: OfflinePlan): StackReport {
    const report: StackReport = { checked: [], notChecked: [], violations: [] };
    for (const resource of createdAzure(plan)) {
        const result = oracle.check(resource);
        if (result.notChecked) report.notChecked.push({ resource, why: result.notChecked });
        else report.checked.push(resource);
        report.violations.push(...result.violations);
    }
    return report;
}

const matches = (known: KnownFinding, label: string, v: Violation) =>
    known.label === label && v.resource.startsWith(`${known.type} `) && v.path === known.path && known.rule.test(v.rule);
const isKnown = (label: string, v: Violation) => KNOWN_FINDINGS.some((known) => matches(known, label, v));

function deepCopy<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

describe("Azure resource definitions: every created azure-native resource against Microsoft's", function () {
    this.timeout(30_000);

    for (const { label } of CASES) {
        it(`${label}: every created azure-native resource matches its definition`, async function () {
            requireReference(this, AZURE_TYPES_DIR);
            const report = checkPlan(await planOf(label));
            const unexpected = report.violations.filter((v) => !isKnown(label, v)).map(formatViolation);
            assert.deepStrictEqual(unexpected, [], `violations of Microsoft's definitions:\n  ${unexpected.join("\n  ")}`);
            for (const known of KNOWN_FINDINGS.filter((k) => k.label === label)) {
                assert.ok(
                    report.violations.some((v) => matches(known, label, v)),
                    `known finding ${known.type} ${known.path} (${known.source}) is gone: remove it from KNOWN_FINDINGS`,
                );
            }
            // Everything created was checked, but for the types no ARM definition describes.
            for (const { resource, why } of report.notChecked) {
                assert.ok(NOT_ARM[resource.type]?.test(why), `${resource.type} ${resource.name} was not checked: ${why}`);
            }
            assert.ok(report.checked.length > 0, "nothing checked");
        });
    }

    it("checks every azure-native type of the program but the ones that are not ARM resources", async function () {
        requireReference(this, AZURE_TYPES_DIR);
        const types = new Set(
            (await Promise.all(CASES.map((c) => planOf(c.label)))).flatMap((plan) => createdAzure(plan).map((r) => r.type)),
        );
        for (const entry of Object.values(AZURE_TYPES)) {
            const mapping = oracle.mapping(entry.token);
            if (typeof mapping === "string") assert.ok(NOT_ARM[entry.token]?.test(mapping), `${entry.token}: ${mapping}`);
            else assert.ok(types.has(entry.token), `${entry.token} is in AZURE_TYPES but no stack creates one: add a variant that does`);
        }
    });

    describe("the mapping from azure-native's inputs to the ARM body comes from the SDK's metadata", () => {
        it("path parameters are the required arguments of the SDK's get<Class>, as AZURE_TYPES lists them", () => {
            for (const entry of Object.values(AZURE_TYPES)) {
                const sdk = sdkResource(entry.token);
                if (!sdk.pathParams) {
                    assert.ok(NOT_ARM[entry.token], `${entry.token}: the SDK has no get${sdk.className}`);
                    continue;
                }
                assert.deepStrictEqual([...sdk.pathParams].sort(), [...entry.pathInputs].sort(), entry.token);
            }
        });

        it("an input found by name under `properties` (flattened) has the SDK doc text Microsoft gives that property", async function () {
            requireReference(this, AZURE_TYPES_DIR);
            const seen: string[] = [];
            for (const resource of createdAzure(await planOf("prod"))) {
                for (const m of oracle.check(resource).mapped.filter((m) => m.how === "flattened")) {
                    // The SDK's doc comments join Microsoft's line breaks (\r\n in the scope map's actions) into spaces.
                    const text = (doc: string | undefined) => doc?.replace(/\s+/g, " ").trim();
                    assert.strictEqual(text(m.sdkDoc), text(m.armDescription), `${resource.type} ${m.input} -> ${m.path}`);
                    seen.push(`${resource.type} ${m.input}`);
                }
            }
            assert.ok(seen.includes("azure-native:containerregistry:Registry adminUserEnabled"), seen.join("\n"));
        });

        it("an input renamed from the spec (x-ms-client-name) is found by its description, under a name that matches", async function () {
            requireReference(this, AZURE_TYPES_DIR);
            // Names that share nothing but the description; the rest differ in letter case or underscores only.
            const unlike: Record<string, string> = {
                "azure-native:storage:StorageAccount enableHttpsTrafficOnly": "properties.supportsHttpsTrafficOnly",
            };
            const fold = (name: string) => name.replace(/_/g, "").toLowerCase();
            const renamed: string[] = [];
            for (const resource of createdAzure(await planOf("prod"))) {
                for (const m of oracle.check(resource).mapped.filter((m) => m.how === "renamed")) {
                    const key = `${resource.type} ${m.input}`;
                    renamed.push(`${key} -> ${m.path}`);
                    if (unlike[key]) assert.strictEqual(m.path, unlike[key]);
                    else assert.strictEqual(fold(m.path.split(".").pop()!), fold(m.input.split(".").pop()!), key);
                }
            }
            assert.ok(
                renamed.includes("azure-native:applicationinsights:Component applicationType -> properties.Application_Type"),
                renamed.join("\n"),
            );
            assert.ok(
                renamed.includes("azure-native:storage:StorageAccount enableHttpsTrafficOnly -> properties.supportsHttpsTrafficOnly"),
                renamed.join("\n"),
            );
        });

        it("no input is left unmapped on the real stacks", async function () {
            requireReference(this, AZURE_TYPES_DIR);
            for (const { label } of CASES) {
                for (const resource of createdAzure(await planOf(label))) {
                    const unknown = oracle.check(resource).mapped.filter((m) => m.how === "unknown");
                    assert.deepStrictEqual(unknown, [], `${label} ${resource.type}`);
                }
            }
        });
    });

    describe("planted violations are reported (the oracle can fail)", () => {
        needsReference(AZURE_TYPES_DIR);
        const REGISTRY = AZURE_TYPES.registry.token;
        const IOT_HUB = AZURE_TYPES.iotHub.token;
        const VAULT = AZURE_TYPES.keyVault.token;
        const STORAGE = AZURE_TYPES.storageAccount.token;
        const ML_WORKSPACE = AZURE_TYPES.mlWorkspace.token;

        interface Plant {
            title: string;
            type: string;
            mutate: (inputs: Record<string, any>) => void;
            /** Exactly these violations: ARM path, input path, rule. */
            expect: { path: string; input?: string; rule: RegExp }[];
        }
        const PLANTS: Plant[] = [
            {
                title: "an unknown property (a misspelt flattened input)",
                type: REGISTRY,
                mutate: (i) => (i.adminUserEnabeld = true),
                expect: [{ path: "adminUserEnabeld", rule: /not a property of Microsoft\.ContainerRegistry\/registries/ }],
            },
            {
                title: "an unknown property in a nested object",
                type: VAULT,
                mutate: (i) => (i.properties.sku.size = "large"),
                expect: [{ path: "properties.sku.size", rule: /not a property of Sku/ }],
            },
            {
                title: "a read-only property set, through a flattened input",
                type: REGISTRY,
                mutate: (i) => (i.loginServer = "edgemldevacr.azurecr.io"),
                expect: [{ path: "properties.loginServer", input: "loginServer", rule: /read-only/ }],
            },
            {
                title: "a read-only property set in a nested object",
                type: IOT_HUB,
                mutate: (i) => (i.properties.hostName = "edgeml-dev-hub.azure-devices.net"),
                expect: [{ path: "properties.hostName", rule: /read-only in IotHubProperties/ }],
            },
            {
                title: "a missing required property",
                type: REGISTRY,
                mutate: (i) => delete i.sku,
                expect: [{ path: "sku", rule: /required in Microsoft\.ContainerRegistry\/registries/ }],
            },
            {
                title: "a missing required property in a nested object",
                type: VAULT,
                mutate: (i) => delete i.properties.tenantId,
                expect: [{ path: "properties.tenantId", rule: /required in VaultProperties/ }],
            },
            {
                title: "a bad enum value",
                type: REGISTRY,
                mutate: (i) => (i.sku.name = "Platinum"),
                expect: [{ path: "sku.name", rule: /must be one of "Classic", "Basic", "Standard", "Premium"/ }],
            },
            {
                title: "an enum value in the wrong letter case, said so",
                type: STORAGE,
                mutate: (i) => (i.minimumTlsVersion = "tls1_2"),
                expect: [{ path: "properties.minimumTlsVersion", input: "minimumTlsVersion", rule: /differs in letter case only/ }],
            },
            {
                title: "a wrong type, through a renamed input",
                type: STORAGE,
                mutate: (i) => (i.enableHttpsTrafficOnly = "yes"),
                expect: [{ path: "properties.supportsHttpsTrafficOnly", input: "enableHttpsTrafficOnly", rule: /must be a boolean/ }],
            },
            {
                title: "a name too long",
                type: REGISTRY,
                mutate: (i) => (i.registryName = "edgeml".repeat(9)),
                expect: [{ path: "name", input: "registryName", rule: /at most 50 characters \(is 54\)/ }],
            },
            {
                title: "a name breaking the pattern",
                type: REGISTRY,
                mutate: (i) => (i.registryName = "edgeml-dev-acr"),
                expect: [{ path: "name", input: "registryName", rule: /must match \^\[a-zA-Z0-9\]\*\$/ }],
            },
            {
                title: "a name breaking another type's pattern",
                type: ML_WORKSPACE,
                mutate: (i) => (i.workspaceName = "-mlw"),
                expect: [{ path: "name", input: "workspaceName", rule: /must match/ }],
            },
            {
                title: "an integer out of range",
                type: IOT_HUB,
                mutate: (i) => (i.properties.cloudToDevice = { maxDeliveryCount: 101 }),
                expect: [{ path: "properties.cloudToDevice.maxDeliveryCount", rule: /must be at most 100/ }],
            },
            {
                title: "a string pattern in a nested object (the key vault's tenant id)",
                type: VAULT,
                mutate: (i) => (i.properties.tenantId = "contoso.onmicrosoft.com"),
                expect: [
                    { path: "properties.tenantId", rule: /at least 36 characters/ },
                    { path: "properties.tenantId", rule: /must match/ },
                ],
            },
        ];

        async function realResource(type: string): Promise<PlannedResource> {
            const resource = createdAzure(await planOf("dev")).find((r) => r.type === type);
            assert.ok(resource, `dev creates no ${type}`);
            return deepCopy(resource);
        }

        for (const plant of PLANTS) {
            it(`${plant.title}: ${plant.type.split(":").pop()}`, async () => {
                const resource = await realResource(plant.type);
                assert.deepStrictEqual(oracle.check(resource).violations, [], "the unplanted copy must pass");
                plant.mutate(resource.inputs);
                const violations = oracle.check(resource).violations;
                const got = violations.map((v) => ({ path: v.path, input: v.input, rule: v.rule }));
                assert.strictEqual(violations.length, plant.expect.length, violations.map(formatViolation).join("\n"));
                plant.expect.forEach((want, i) => {
                    assert.strictEqual(got[i].path, want.path, formatViolation(violations[i]));
                    assert.strictEqual(got[i].input, want.input ?? want.path, formatViolation(violations[i]));
                    assert.match(got[i].rule, want.rule);
                });
            });
        }

        it("skips the content of secret and unknown values but still requires them", async () => {
            const vault = await realResource(VAULT);
            const properties = vault.inputs.properties as Record<string, unknown>;
            properties.tenantId = "[secret]";
            properties.sku = "[unknown]";
            assert.deepStrictEqual(oracle.check(vault).violations, []);
        });

        it("a plan with one planted violation fails the stack check, naming resource, path, value and rule", async () => {
            const plan = deepCopy(await planOf("dev"));
            const hub = plan.resources.find((r) => r.type === IOT_HUB)!;
            (hub.inputs.sku as Record<string, unknown>).name = "S4";
            const lines = checkPlan(plan)
                .violations.filter((v) => !isKnown("dev", v))
                .map(formatViolation);
            assert.strictEqual(lines.length, 1, lines.join("\n"));
            assert.match(
                lines[0],
                new RegExp(`^${IOT_HUB} ${hub.name}: sku\\.name = "S4": must be one of "F1", "S1", "S2", "S3", "B1", "B2", "B3"`),
            );
        });
    });
});

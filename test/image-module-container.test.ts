// The image test's edgeAgent step (scripts/image-test/module-container.ts) against a fake Engine API on a unix
// socket: the container-create body is the module's joined createOptions with its image, env and name, the pull
// uses the manifest's credentials for the image's registry, and Docker's refusal of createOptions fails the step.
// `npm run test:image` runs the same step against a real engine.
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { buildManifest, DeploymentManifest, ManifestInput } from "../components/iot/manifest";
import { Engine } from "../scripts/image-test/engine";
import {
    containerCreateRequest,
    createModuleContainer,
    pullModuleImage,
    registryAuthFor,
    registryAuthHeader,
} from "../scripts/image-test/module-container";

const DIGEST = `sha256:${"c".repeat(64)}`;
const IMAGE = `127.0.0.1:5999/edgeml/scoring@${DIGEST}`;
const PASSWORD = "pa55+word/with=";
// Long enough to need more than one 512-byte chunk (createOptions, createOptions01, ...).
const CREATE_OPTIONS = {
    Env: ["LOG_LEVEL=DEBUG", "THRESHOLD=0.1"],
    HostConfig: {
        PortBindings: { "5001/tcp": [{ HostPort: "5001" }] },
        Memory: 268435456,
        Binds: Array.from({ length: 30 }, (_, i) => `/srv/data${i}:/data${i}:ro`),
    },
};

function manifest(createOptions: ManifestInput["scoring"]["createOptions"] | "none" = CREATE_OPTIONS): DeploymentManifest {
    return buildManifest({
        edgeRuntimeVersion: "1.5",
        registry: { name: "edgemldevacr", loginServer: "127.0.0.1:5999", username: "edgemldevacr", password: PASSWORD },
        scoring: {
            name: "scoring",
            image: IMAGE,
            status: "running",
            restartPolicy: "always",
            env: { THRESHOLD: 0.5, VERBOSE: false },
            createOptions: createOptions === "none" ? undefined : createOptions,
            inputName: "amlInput",
            outputName: "amlOutput",
        },
        storeAndForwardTimeToLiveSecs: 7200,
    });
}

interface Seen {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** An Engine API stand-in: records requests, answers with `answer`. */
async function fakeEngine(
    answer: (seen: Seen) => { status: number; body: string },
): Promise<{ engine: Engine; seen: Seen[]; close: () => Promise<void> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-"));
    const socketPath = path.join(dir, "docker.sock");
    const seen: Seen[] = [];
    const server = http.createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => (body += chunk.toString()));
        request.on("end", () => {
            const entry = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, body };
            seen.push(entry);
            const reply = answer(entry);
            response.writeHead(reply.status, { "Content-Type": "application/json" }).end(reply.body);
        });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return {
        engine: new Engine(socketPath),
        seen,
        close: () => new Promise((resolve) => server.close(() => (fs.rmSync(dir, { recursive: true, force: true }), resolve()))),
    };
}

describe("the image test's edgeAgent step: manifest module to container", function () {
    it("posts the joined createOptions chunks with the image, the module's env (winning over createOptions.Env) and its name", function () {
        const built = manifest();
        const settings = built.modulesContent.$edgeAgent["properties.desired"].modules.scoring.settings;
        assert.ok(settings.createOptions01, `expected several chunks, got ${Object.keys(settings).join(", ")}`);

        const request = containerCreateRequest(built, "scoring");
        assert.strictEqual(request.name, "scoring");
        assert.deepStrictEqual(request.body, {
            ...CREATE_OPTIONS,
            Image: IMAGE,
            Env: ["LOG_LEVEL=DEBUG", "THRESHOLD=0.5", "VERBOSE=false"],
        });
    });

    it("takes a module without createOptions as an empty create body", function () {
        assert.deepStrictEqual(containerCreateRequest(manifest("none"), "scoring").body, {
            Image: IMAGE,
            Env: ["THRESHOLD=0.5", "VERBOSE=false"],
        });
        assert.throws(() => containerCreateRequest(manifest(), "other"), /no module other/);
    });

    it("pulls by digest with the registryCredentials entry of the image's registry, as Docker's padded base64url auth", async function () {
        const fake = await fakeEngine(() => ({ status: 200, body: '{"status":"Pulling from edgeml/scoring"}\n{"status":"Digest: ok"}\n' }));
        try {
            assert.strictEqual(await pullModuleImage(fake.engine, manifest(), "scoring"), "Digest: ok");
            const [pull] = fake.seen;
            const query = new URL(pull.url, "http://engine").searchParams;
            assert.strictEqual(pull.method, "POST");
            assert.strictEqual(query.get("fromImage"), "127.0.0.1:5999/edgeml/scoring");
            assert.strictEqual(query.get("tag"), DIGEST);
            const header = String(pull.headers["x-registry-auth"]);
            assert.match(header, /^[A-Za-z0-9_-]+=*$/);
            assert.strictEqual(header.length % 4, 0);
            assert.strictEqual(
                header,
                registryAuthHeader({ username: "edgemldevacr", password: PASSWORD, serveraddress: "127.0.0.1:5999" }),
            );
            assert.deepStrictEqual(JSON.parse(Buffer.from(header, "base64url").toString()), {
                username: "edgemldevacr",
                password: PASSWORD,
                serveraddress: "127.0.0.1:5999",
            });
        } finally {
            await fake.close();
        }
        assert.strictEqual(registryAuthFor(manifest(), "otherregistry.azurecr.io/x@sha256:1"), undefined);
    });

    it("fails on a pull error in the progress stream (a wrong password)", async function () {
        const fake = await fakeEngine(() => ({
            status: 200,
            body: '{"errorDetail":{"message":"unauthorized"},"error":"unauthorized: authentication required"}\n',
        }));
        try {
            await assert.rejects(pullModuleImage(fake.engine, manifest(), "scoring"), /unauthorized: authentication required/);
        } finally {
            await fake.close();
        }
    });

    it("fails with Docker's own message when Docker rejects the createOptions", async function () {
        const message = "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64";
        const fake = await fakeEngine(() => ({ status: 400, body: JSON.stringify({ message }) }));
        try {
            const bad = manifest({ HostConfig: { Memory: "256m" } });
            await assert.rejects(createModuleContainer(fake.engine, bad, "scoring"), (error: Error) => {
                assert.ok(error.message.includes(`Docker refused module scoring's createOptions (400): ${message}`), error.message);
                return true;
            });
            const [create] = fake.seen;
            assert.strictEqual(create.url, "/containers/create?name=scoring");
            assert.deepStrictEqual(JSON.parse(create.body), {
                HostConfig: { Memory: "256m" },
                Image: IMAGE,
                Env: ["THRESHOLD=0.5", "VERBOSE=false"],
            });
        } finally {
            await fake.close();
        }
    });

    it("returns the container id when Docker creates it", async function () {
        const fake = await fakeEngine(() => ({ status: 201, body: JSON.stringify({ Id: "f00d", Warnings: [] }) }));
        try {
            assert.strictEqual(await createModuleContainer(fake.engine, manifest(), "scoring"), "f00d");
        } finally {
            await fake.close();
        }
    });
});

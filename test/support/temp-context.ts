// Throwaway Docker build contexts and module sources for tests that change files and watch the image tag.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function makeContext(files: Record<string, string | Buffer>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-context-"));
    for (const [name, content] of Object.entries(files)) writeFile(dir, name, content);
    return dir;
}

export function writeFile(dir: string, name: string, content: string | Buffer): void {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
}

/**
 * A stand-in for edgeml's runtime (scoring/runtime) with the parts the image copies, and parts it must not (tests,
 * benchmarks, caches), so staging tests do not depend on the real runtime's contents.
 */
export const FAKE_RUNTIME: Record<string, string> = {
    "image/Dockerfile": "FROM python:3.11-slim\nCOPY runtime/ /runtime/\nCOPY app/ /app/\nCOPY model/ /azureml-models/m/1/\n",
    "image/omit_requirements.py": "import sys\nprint(sys.argv)\n",
    "image/README.md": "not staged\n",
    "api/azureml/__init__.py": "# azureml shim\n",
    "api/azureml/contrib/services/aml_response.py": "class AMLResponse: ...\n",
    "api/__pycache__/x.cpython-311.pyc": "cache",
    "edgeml_server/__init__.py": "# server\n",
    "edgeml_server/server.py": "def main(): ...\n",
    "requirements.txt": "fastapi==0.115.0\nuvicorn==0.30.0\n",
    "tests/test_server.py": "def test(): ...\n",
    "bench.py": "not staged\n",
};

/** What of FAKE_RUNTIME is staged, as paths in the staged context. */
export const FAKE_RUNTIME_STAGED = [
    "Dockerfile",
    "runtime/api/azureml/__init__.py",
    "runtime/api/azureml/contrib/services/aml_response.py",
    "runtime/edgeml_server/__init__.py",
    "runtime/edgeml_server/server.py",
    "runtime/image/omit_requirements.py",
    "runtime/requirements.txt",
];

export function makeRuntime(extra: Record<string, string> = {}): string {
    return makeContext({ ...FAKE_RUNTIME, ...extra });
}

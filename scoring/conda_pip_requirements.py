"""Print the pip section of a conda environment file as requirements.txt lines.

The Docker builder stage uses it to install exactly the pins of myenv.yml. It
reads only the `- pip:` list, with the standard library, so the image build
needs no YAML parser; the tests check it against a real YAML parse.

Usage: python conda_pip_requirements.py myenv.yml [--omit name,name] > requirements.txt

--omit leaves out the named packages (compared as pip compares names, so
`PySocks` and `pysocks` are one), for an index that lacks them; the names left
out go to stderr. Empty means none.
"""

import re
import sys


def pip_requirements(conda_env_text):
    requirements = []
    pip_indent = None
    for line in conda_env_text.splitlines():
        content = line.split("#", 1)[0].rstrip()
        if not content.strip():
            continue
        indent = len(content) - len(content.lstrip())
        item = content.strip()
        if pip_indent is None:
            if item == "- pip:":
                pip_indent = indent
        elif indent <= pip_indent:
            break  # the pip list ended
        elif item.startswith("- "):
            requirements.append(item[2:].strip())
    return requirements


def normalized_name(requirement):
    """The project name of a requirement line, normalized as PEP 503 does (lowercase, runs of -_. as -)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return re.sub(r"[-_.]+", "-", name.group(0)).lower() if name else ""


def without(requirements, omitted_names):
    """(kept, left out): the requirements whose project is not named in omitted_names, and those that are."""
    omitted = {normalized_name(name) for name in omitted_names if name.strip()}
    kept = [r for r in requirements if normalized_name(r) not in omitted]
    return kept, [r for r in requirements if normalized_name(r) in omitted]


def main(argv):
    args = list(argv)
    omit = ""
    if "--omit" in args:
        at = args.index("--omit")
        omit = args[at + 1] if at + 1 < len(args) else ""
        del args[at:at + 2]
    if len(args) != 1:
        sys.exit(__doc__.split("\n\n")[2])
    with open(args[0], encoding="utf-8") as env_file:
        kept, left_out = without(pip_requirements(env_file.read()), omit.split(","))
    unknown = {normalized_name(n) for n in omit.split(",") if n.strip()} - {normalized_name(r) for r in left_out}
    if unknown:
        sys.exit(f"--omit names packages {args[0]} does not pin: {', '.join(sorted(unknown))}")
    if left_out:
        print(f"left out of {args[0]}: {' '.join(left_out)}", file=sys.stderr)
    print("\n".join(kept))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Print the pip section of a conda environment file as requirements.txt lines.

The Docker builder stage uses it to install exactly the pins of myenv.yml. It
reads only the `- pip:` list, with the standard library, so the image build
needs no YAML parser; the tests check it against a real YAML parse.

Usage: python conda_pip_requirements.py myenv.yml > requirements.txt
"""

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


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as env_file:
        print("\n".join(pip_requirements(env_file.read())))

"""Model.get_model_path as it behaves inside a deployed v1 image, without Microsoft's packages.

Deployed images hold registered models as files under <models root>/<name>/<version>/. The models root is
$AML_APP_ROOT/azureml-models (where edgeml's image puts them, as v1 images did); AZUREML_MODEL_DIR, which the
image sets to one model's <models root>/<name>/<version> (or, for several models, to the root itself), is
searched too, so a script still finds its model when the image laid it out elsewhere.

As in v1: with no version, the highest integer version folder wins; the returned path is the one file or folder
inside the version folder; failing that, ./<name> in the working directory (the app root). Where the version
folder holds several entries, the version folder itself is returned: what v1's documentation says for a model
registered as several files ("returns the path of the directory that contains those files"; the v1 SDK source
raised instead, which left such models unloadable).
"""

import os
from pathlib import Path

from azureml.exceptions import ModelNotFoundException, WebserviceException

DEFAULT_APP_ROOT = "/var/azureml-app"
MODELS_FOLDER = "azureml-models"


def _models_roots():
    """Folders that may hold <name>/<version>/, most likely first, without duplicates."""
    roots = [Path(os.environ.get("AML_APP_ROOT", DEFAULT_APP_ROOT)) / MODELS_FOLDER]
    model_dir = os.environ.get("AZUREML_MODEL_DIR")
    if model_dir:
        model_dir = Path(model_dir)
        roots += [model_dir.parent.parent, model_dir]  # one model: <root>/<name>/<version>; several: <root>
    unique = []
    for root in roots:
        resolved = root.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def _integer_versions(model_folder):
    versions = []
    for entry in model_folder.iterdir():
        if entry.is_dir() and entry.name.isdigit():
            versions.append(int(entry.name))
    return sorted(versions)


def _inventory(roots):
    """'name/version' of every model under the roots, for error messages."""
    found = []
    for root in roots:
        if root.is_dir():
            for model_folder in sorted(p for p in root.iterdir() if p.is_dir()):
                found += [f"{model_folder.name}/{v}" for v in _integer_versions(model_folder)]
    return sorted(set(found))


class Model:
    """The registered models an image carries. Only the static get_model_path is provided."""

    def __init__(self, *args, **kwargs):
        raise WebserviceException(
            "azureml.core.model.Model objects need an Azure ML workspace, which an edgeml image does not have; "
            "use Model.get_model_path(name, version) to find a model in the image")

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        """The path of model `model_name` (its latest version unless `version` is given) inside this image."""
        if _workspace is not None:
            raise WebserviceException("edgeml images run offline: models come from the image, not a workspace; "
                                      "call get_model_path without _workspace")
        if not model_name or not isinstance(model_name, str):
            raise WebserviceException(f"model_name must be a non-empty string, got {model_name!r}")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise WebserviceException(f"version should be an int, got {version!r}")

        roots = _models_roots()
        for root in roots:
            model_folder = root / model_name
            if not model_folder.is_dir():
                continue
            chosen = version
            if chosen is None:
                versions = _integer_versions(model_folder)
                if not versions:
                    continue
                chosen = versions[-1]
            version_folder = model_folder / str(chosen)
            if not version_folder.is_dir():
                continue
            entries = sorted(version_folder.iterdir())
            if not entries:
                raise ModelNotFoundException(f"model folder {version_folder} is empty")
            if len(entries) == 1:
                return str(entries[0])
            return str(version_folder)

        in_working_dir = Path(model_name)
        if in_working_dir.exists():
            return str(in_working_dir)

        wanted = f"{model_name!r}" + (f" version {version}" if version is not None else "")
        searched = ", ".join(str(root) for root in roots)
        available = ", ".join(_inventory(roots)) or "none"
        raise ModelNotFoundException(
            f"model {wanted} not found: looked for <name>/<version>/ under {searched} and for ./{model_name} in "
            f"{os.getcwd()}; models in the image: {available}")

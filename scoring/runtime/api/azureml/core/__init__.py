"""azureml.core as entry scripts use it inside a deployed image: Model.get_model_path only.

edgeml images run offline, so there is no Workspace, Run or Environment here: a script that imports them fails
at import with an ImportError naming them, rather than later with a half-working object.
"""

from azureml.core.model import Model

__all__ = ["Model"]

"""edgeml's stand-ins for the parts of Azure ML's v1 SDK that entry scripts import.

A namespace package (pkgutil style, as Microsoft's azureml-* distributions are), so an azureml.* package
installed in site-packages that edgeml does not provide (azureml.automl..., say) stays importable.
"""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

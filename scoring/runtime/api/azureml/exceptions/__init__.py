"""The exception types of azureml.exceptions that Model.get_model_path raises, so `except` clauses keep working."""


class AzureMLException(Exception):
    """Base of the errors raised by edgeml's azureml stand-ins."""

    def __init__(self, exception_message="", **kwargs):
        super().__init__(exception_message)
        self.message = exception_message


class WebserviceException(AzureMLException):
    """A model or service operation failed."""


class ModelNotFoundException(WebserviceException):
    """No model of that name (and version) is in the image."""

"""Raw HTTP access for entry scripts: aml_request (AMLRequest, rawhttp) and aml_response (AMLResponse)."""

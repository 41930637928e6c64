"""edgeml's serving runtime: runs an Azure ML entry script (init()/run()) unchanged over HTTP and IoT Edge.

Importing the package puts the runtime's api/ folder (azureml.core.model, azureml.contrib.services, ...) first
on sys.path, so entry scripts import edgeml's stand-ins for Azure ML's SDK modules.
"""

import os
import sys

__version__ = "1.0.0"

API_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "api")
if os.path.isdir(API_DIR) and API_DIR not in sys.path:
    sys.path.insert(0, API_DIR)

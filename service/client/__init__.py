"""Python client of the bayescale HTTP API (imports httpx and pydantic only).

>>> from service.client import Client
>>> with Client("http://127.0.0.1:8000", api_key="bsk_...", project="default") as client:
...     client.log_observation("sweep", loss=2.31, params=1e8, data=2e9, run="r7", step=1000)
...     fit = client.fit("sweep", "chinchilla").wait(progress=True)
...     fit.predict([{"params": 1e9, "data": 2e10}])
"""

from service.client.client import Client, derive_key
from service.client.errors import BayescaleError, FitFailedError
from service.client.fits import FitHandle
from service.client.http import RetryPolicy

__all__ = ["BayescaleError", "Client", "FitFailedError", "FitHandle", "RetryPolicy", "derive_key"]

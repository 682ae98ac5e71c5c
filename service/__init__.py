"""HTTP service (FastAPI) over the modelling library; built in the service issue."""

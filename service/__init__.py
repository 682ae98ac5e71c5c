"""bayescale's HTTP service: thin FastAPI routes, a SQL store, fit jobs on workers."""

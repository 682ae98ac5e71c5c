"""The ``bayescale`` command line (modelling commands now; service commands join later)."""

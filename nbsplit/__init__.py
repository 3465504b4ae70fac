"""nbsplit: split a monolithic data-science notebook into MLOps pipeline stages."""

__version__ = "0.1.0"

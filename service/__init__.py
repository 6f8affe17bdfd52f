"""sparsewire: streaming spectral graph sparsification (dyGRASS) as a library and a service."""

__version__ = "0.1.0"

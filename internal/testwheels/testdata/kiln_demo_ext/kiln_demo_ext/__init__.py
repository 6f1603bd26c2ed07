"""kiln test fixture: a package whose hash function is compiled C."""

from kiln_demo_ext._native import fnv1a

__all__ = ["fnv1a"]
__version__ = "1.0.0"

"""Console script: prints a line the tests can check against Go's hash/fnv."""

import platform

from kiln_demo_ext import __version__, fnv1a


def main():
    print(f"kiln-demo-ext {__version__} fnv1a(kiln)={fnv1a(b'kiln')} machine={platform.machine()}")
    return 0
